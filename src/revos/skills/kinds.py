"""What every skill is made of: a prepared request (built in the run's first transaction), the output read
from the provider's completion, and, for skills whose output replaces something, how it is applied."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from revos.ai.base import Completion, CompletionRequest
from revos.db.pool import Conn
from revos.errors import RevosError, ValidationFailed
from revos.runtime import Runtime
from revos.skills.context import Base
from revos.skills.schemas import Options


class SkillOutputInvalid(RevosError):
    """The provider answered, but with nothing usable (no draft, template variables lost, ...)."""

    status_code = 502
    code = "skill_output_invalid"


@dataclass
class Prepared:
    request: CompletionRequest
    # What the run read, for its log entry (memories used, texts checked, ...).
    context: dict[str, Any] = field(default_factory=dict)
    # The skill's own carry-over from prepare to output (deterministic findings, the source text, ...).
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Applied:
    """What applying an output changed (the post a draft became), for the log entry and the answer."""

    post_id: UUID | None = None
    target: str | None = None


Prepare = Callable[[Runtime, Conn, Base, Any], Awaitable[Prepared]]
Output = Callable[[Prepared, Completion, Any], dict[str, Any]]
# (runtime, conn, campaign, options, the approved text) -> what changed
Apply = Callable[[Runtime, Conn, dict[str, Any], Any, str], Awaitable[Applied]]
Check = Callable[[Conn, dict[str, Any], Any], Awaitable[None]]


@dataclass(frozen=True)
class Kind:
    name: str
    options: type[Options]
    prepare: Prepare
    output: Output
    apply: Apply | None = None  # None: the output is advice, nothing is replaced
    check_target: Check | None = None  # what `apply` will change exists and may change (before any call)


def chosen_text(output: dict[str, Any], choose: int | None = None) -> str:
    """The text a reviewer approves: the chosen draft (copywriting) or rewrite (voice)."""
    texts: list[str] = output.get("drafts") or output.get("texts") or []
    index = output.get("chosen", 0) if choose is None else choose
    if not texts:
        raise SkillOutputInvalid("the run has no text to use")
    if not 0 <= index < len(texts):
        raise ValidationFailed(f"choose: between 0 and {len(texts) - 1} (the run has {len(texts)} text(s))")
    return texts[index]

"""DM templates: `{{variable}}` placeholders, checked when a campaign is saved and filled when a DM is sent.

Only the variables below exist. A typo such as `{{firstname}}` must be caught when the campaign is saved
(`validate_template` lists it), never discovered by a lead who receives "Hi {{firstname}}".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VARIABLES: tuple[str, ...] = (
    "first_name",
    "last_name",
    "lead_magnet_name",
    "download_url",
    "campaign_name",
    "email",
)

# `{{ name }}` with optional inner spaces; the name itself is what validation checks.
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

# What step 1..3 say when a campaign leaves a template empty.
DEFAULT_TEMPLATES: dict[int, str] = {
    1: (
        "Hi {{first_name}}, thanks for your comment! I'd love to send you {{lead_magnet_name}}. "
        "What's the best email to send it to?"
    ),
    2: "Perfect, thanks {{first_name}}! {{lead_magnet_name}} is on its way to {{email}}.",
    3: (
        "Hi {{first_name}}, in case the email didn't arrive, here is {{lead_magnet_name}} directly: "
        "{{download_url}}"
    ),
}
DEFAULT_INVITATION_NOTE = (
    "Hi {{first_name}}, thanks for commenting on my post! "
    "Let's connect so I can send you {{lead_magnet_name}}."
)
DEFAULT_FOLLOW_UP = (
    "Thanks {{first_name}}! Could you reply with the email address where I should send {{lead_magnet_name}}?"
)
INVITATION_NOTE_MAX = 300


def variables_in(text: str) -> list[str]:
    """Every placeholder name used in `text`, in order of first appearance."""
    seen: list[str] = []
    for match in _PLACEHOLDER.finditer(text or ""):
        name = match.group(1)
        if name not in seen:
            seen.append(name)
    return seen


def validate_template(text: str) -> list[str]:
    """The unknown variables used in `text` (empty list: the template is valid)."""
    return [name for name in variables_in(text) if name not in VARIABLES]


def render(text: str, values: Mapping[str, str | None]) -> str:
    """Fill the placeholders; a known variable without a value renders as an empty string.

    Unknown placeholders are left as written (validation at save time keeps them out of campaigns).
    Spaces left by an empty value ("Hi ,") are tidied so a missing first name reads naturally.
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in VARIABLES:
            return match.group(0)
        return values.get(name) or ""

    out = _PLACEHOLDER.sub(fill, text)
    out = re.sub(r"[ \t]+([,.!?])", r"\1", out)
    out = re.sub(r"[ \t]{2,}", " ", out)
    return out.strip()


def fit_invitation_note(note: str) -> str:
    """LinkedIn caps an invitation note at 300 characters: cut at a word boundary with an ellipsis."""
    if len(note) <= INVITATION_NOTE_MAX:
        return note
    cut = note[: INVITATION_NOTE_MAX - 1]
    space = cut.rfind(" ")
    if space > INVITATION_NOTE_MAX // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"

"""Deterministic drafting in a voice: posts, DMs, comments and rewrites (the offline provider's engine)."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from revos.ai.base import CompletionRequest


def _seed(request: CompletionRequest, index: int) -> random.Random:
    blob = json.dumps(
        [request.purpose, request.prompt, dict(request.context or {}), index], sort_keys=True, default=str
    )
    return random.Random(int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big"))


def write(request: CompletionRequest) -> list[str]:
    voice: dict[str, Any] = dict(request.voice or {})
    ctx: dict[str, Any] = dict(request.context or {})
    out: list[str] = []
    for i in range(max(1, request.variants)):
        rng = _seed(request, i)
        topic = str(ctx.get("topic") or request.prompt or "this").strip()
        trigger = ctx.get("trigger_word")
        lines = [f"Here is what I learned about {topic}."]
        ctas = [c for c in voice.get("example_ctas") or [] if "{trigger_word}" in c] if trigger else []
        if ctas:
            lines.append(rng.choice(ctas).replace("{trigger_word}", str(trigger)))
        out.append("\n\n".join(lines))
    return out

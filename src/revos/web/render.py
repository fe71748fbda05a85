"""Templates: Jinja2 with autoescape always on (LinkedIn text is shown as text, never as markup)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, whatever its name: there is no unescaped output path
    undefined=StrictUndefined,  # a misspelt variable is an error in tests, not an empty string in prod
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["when"] = _when


def render(template: str, context: dict[str, Any]) -> str:
    return env.get_template(template).render(context)

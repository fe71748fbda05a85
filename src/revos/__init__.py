"""revOS: turns LinkedIn engagement into captured leads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from revos.text.emails import EmailMatch, extract_email
    from revos.text.triggers import matches_trigger

# Public helpers re-exported lazily, so `import revos` stays cheap (no regex compilation, no
# email-validator import) for code that only needs a submodule.
_LAZY = {
    "matches_trigger": "revos.text.triggers",
    "extract_email": "revos.text.emails",
    "EmailMatch": "revos.text.emails",
}

__all__ = ["EmailMatch", "__version__", "extract_email", "matches_trigger"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'revos' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value

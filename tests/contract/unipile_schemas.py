"""Unipile's response schemas, exported from its official SDK (`scripts/unipile-contract/export-schemas.js`).

`schemas/manifest.json` names the SDK version and, per schema, the SDK methods that validate with it and the
Unipile v1 routes whose 2xx body it describes. `Error.json` is the error body of spec §3 (the SDK has none).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SCHEMA_DIR = Path(__file__).parent / "schemas"


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    schema: str
    pattern: re.Pattern[str]
    placeholders: int


@cache
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / "manifest.json").read_text())
    return data


def sdk_version() -> str:
    return f"{manifest()['sdk']}@{manifest()['sdk_version']}"


@cache
def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
    return data


@cache
def validator(name: str) -> Draft7Validator:
    return Draft7Validator(schema(name))


@cache
def routes() -> tuple[Route, ...]:
    out = []
    for name, entry in manifest()["schemas"].items():
        for route in entry["routes"]:
            method, _, template = route.partition(" ")
            if not template.startswith("/"):
                continue  # the error schema applies to every route
            regex = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template))
            out.append(Route(method, template, name, re.compile(f"^{regex}$"), template.count("{")))
    # The most literal template wins: /users/me before /users/{identifier}.
    return tuple(sorted(out, key=lambda r: r.placeholders))


def route_for(method: str, path: str) -> Route | None:
    """The SDK schema of a 2xx answer to `method path` (path after /api/v1), if the SDK has one."""
    return next((r for r in routes() if r.method == method and r.pattern.match(path)), None)


def problems(name: str, body: Any) -> list[str]:
    """Every way `body` breaks the schema `name`, as `path: message` lines (empty: it conforms).

    For a union (the SDK's per-provider variants), the errors listed are those of the closest branch."""
    return [_line(e) for e in _flatten(list(validator(name).iter_errors(body)))]


def _flatten(errors: list[Any]) -> list[Any]:
    out = []
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            branches: dict[Any, list[Any]] = {}
            for sub in error.context:
                branches.setdefault(sub.relative_schema_path[0], []).append(sub)
            out.extend(_flatten(min(branches.values(), key=len)))
        else:
            out.append(error)
    return sorted(out, key=lambda e: [str(p) for p in e.absolute_path])


def _line(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message[:200]}"

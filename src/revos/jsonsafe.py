"""JSON from outside revOS, read so that nothing in it can crash a request or fail to be stored.

`json.loads` accepts things PostgreSQL and our models cannot take: `NaN` and `Infinity`, numbers such as
`1e400` that become infinite, nesting deep enough to exhaust the interpreter's stack, and strings holding
NUL (``\\u0000``: not storable in `text` or `jsonb`) or lone UTF-16 surrogates (``\\ud800``: not encodable
as UTF-8). `loads` refuses all of them with a `JSONRefused` (a `ValueError`) that says what and where.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Deep enough for any settings object or provider payload we read; far below the interpreter's limit.
MAX_DEPTH = 32


class JSONRefused(ValueError):
    """The document is not JSON revOS accepts; the message is safe to show to the sender."""


def _refuse_constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not a JSON number; send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRefused(f"number {text[:40]} is out of range")
    return value


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, text_must_be_storable: bool = True) -> Any:
    """Parse `data`; raise `JSONRefused` for invalid JSON or anything `problem` finds."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JSONRefused:
        raise
    except RecursionError as exc:
        raise JSONRefused(f"JSON nested deeper than {max_depth} levels") from exc
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except ValueError as exc:  # undecodable bytes, integers past the interpreter's digit limit
        raise JSONRefused(f"invalid JSON: {str(exc)[:200]}") from exc
    found = problem(value, max_depth=max_depth, text_must_be_storable=text_must_be_storable)
    if found:
        raise JSONRefused(found)
    return value


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored in PostgreSQL, or None."""
    if "\x00" in text:
        return "holds a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds an unpaired UTF-16 surrogate (e.g. \\ud800)"
    return None


def storable(value: Any) -> Any:
    """`value` (text, or parsed JSON) with what PostgreSQL cannot hold, NUL and lone surrogates, replaced
    by U+FFFD, for text from outside that must be recorded rather than refused."""
    if isinstance(value, str):
        if unstorable(value) is None:
            return value
        clean = value.replace("\x00", "\ufffd")
        return clean.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def problem(value: Any, *, max_depth: int = MAX_DEPTH, text_must_be_storable: bool = True) -> str | None:
    """The first reason `value` (parsed JSON) is refused, with its path; None when it is acceptable.

    Iterative, so a deep document cannot exhaust the stack while being checked. Paths are only spelled
    out once something is found: every accepted body pays for one plain walk."""
    if _walk(value, max_depth, text_must_be_storable, with_paths=False) is None:
        return None
    return _walk(value, max_depth, text_must_be_storable, with_paths=True)


def _walk(value: Any, max_depth: int, storable_text: bool, *, with_paths: bool) -> str | None:
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        where = path or "the top"
        if depth > max_depth:
            return f"JSON nested deeper than {max_depth} levels (at {where})"
        if isinstance(node, dict):
            for key, item in node.items():
                if storable_text and (why := unstorable(key)):
                    return f"a key {why} (at {where})"
                stack.append((item, (f"{path}.{key}" if path else str(key)) if with_paths else "", depth + 1))
        elif isinstance(node, list):
            stack.extend(
                (item, f"{path}[{i}]" if with_paths else "", depth + 1) for i, item in enumerate(node)
            )
        elif isinstance(node, str):
            if storable_text and (why := unstorable(node)):
                return f"text {why} (at {where})"
        elif isinstance(node, float) and not math.isfinite(node):
            return f"a number is not finite (at {where})"
    return None


def size_of(value: Any) -> int:
    """Bytes of `value` as compact JSON (what a jsonb column will roughly hold)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace"))

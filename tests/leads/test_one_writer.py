"""The lead's state has one writer: only revos.leads.lifecycle changes a lead's status, its sequence's
stage and its timeline. Read from the source, so a new domain that writes them directly fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import revos

SRC = Path(revos.__file__).resolve().parent
LIFECYCLE = SRC / "leads" / "lifecycle"
# The functions of the lead's repositories that write (every other one only reads).
WRITERS = {
    "revos.leads.repo": {"insert_if_new", "set_sequence", "advance", "fail", "set_email", "insert_event"},
    "revos.leads.sequence_repo": {"insert_sequence", "update", "insert_message", "mark_clicked"},
}
# Statements that write the lead's tables, wherever they hide.
WRITE_SQL = re.compile(
    r"\b(?:update|insert\s+into|delete\s+from)\s+(?:public\.)?(leads|dm_sequences|dm_messages|lead_events)\b",
    re.IGNORECASE,
)
REPOSITORIES = {SRC / "leads" / "repo.py", SRC / "leads" / "sequence_repo.py"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "sim" not in p.relative_to(SRC).parts[:1])


def _writer_uses(path: Path) -> list[str]:
    """`module.function` of every repository writer this file imports or calls through a module alias."""
    tree = ast.parse(path.read_text())
    aliases: dict[str, str] = {}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in WRITERS:
                    aliases[alias.asname or alias.name] = full
                elif node.module in WRITERS and alias.name in WRITERS[node.module]:
                    found.append(f"{node.module}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module is not None and node.attr in WRITERS[module]:
                found.append(f"{module}.{node.attr}")
    return found


def test_only_the_lifecycle_calls_the_writers_of_the_leads_tables() -> None:
    offenders = {
        str(path.relative_to(SRC)): uses
        for path in _modules()
        if LIFECYCLE not in path.parents and (uses := _writer_uses(path))
    }
    assert offenders == {}, f"write the lead's state through revos.leads.lifecycle instead: {offenders}"
    # The rule is not vacuous: the lifecycle does write through them.
    assert any(_writer_uses(p) for p in LIFECYCLE.glob("*.py"))


def test_no_sql_outside_the_repositories_writes_the_leads_tables() -> None:
    offenders = sorted(
        str(path.relative_to(SRC))
        for path in _modules()
        if path not in REPOSITORIES and WRITE_SQL.search(path.read_text())
    )
    assert offenders == [], f"SQL writing leads, sequences, messages or timeline outside leads/: {offenders}"

"""Tamper-evident audit trail: the log is written by the database, verified from here."""

from revos.audit.verify import ChainReport, canonical_text, verify_chain

__all__ = ["ChainReport", "canonical_text", "verify_chain"]

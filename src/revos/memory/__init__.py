"""Memories: semantic memory of what worked, searched by meaning (see docs/memory.md)."""

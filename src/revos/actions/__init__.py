"""Outbound LinkedIn actions, exactly once: the ledger (`revos.actions.ledger`) and the standard calls and
reconcilers for each kind (`revos.actions.reconcile`)."""

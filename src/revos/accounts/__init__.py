"""LinkedIn accounts: connection through Unipile (checkpoints, reconnection, status), the shared Unipile
client (`provider`) and account safety (`safety`: one budget per account, caps, hours, gaps, warm-up)."""

"""Operations: /metrics (Prometheus) and the health summary of `revos status` (docs/operations.md)."""

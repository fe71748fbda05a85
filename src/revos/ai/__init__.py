"""AI providers: completion and embeddings, per-client settings, the monthly token budget, prices."""

"""Security primitives: envelope encryption, JWTs, API keys, SSRF-safe HTTP."""

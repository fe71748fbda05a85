"""People signing in to the dashboard: passwords, server-side sessions, one-time links, rate limits."""

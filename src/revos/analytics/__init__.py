"""Analytics: the funnel, posts, DM templates, account budgets and pod participation, read from
materialized views refreshed by the worker (docs/operations.md)."""

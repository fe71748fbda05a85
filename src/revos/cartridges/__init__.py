"""Voice cartridges: tiers, inheritance with origins, versions, and voices learned from a user's posts.

Skills write with `revos.cartridges.service.resolve` / `resolve_for` (a `Resolved`)."""

"""Posts: drafted from a campaign's template, scheduled, published exactly once, and their comments polled."""

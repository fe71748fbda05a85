"""Campaigns: trigger words, templates, settings and the draft → active → paused → completed lifecycle."""

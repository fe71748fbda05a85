"""Agencies, clients, users and API keys."""

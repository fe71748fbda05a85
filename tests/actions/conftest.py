"""Shares the accounts fixtures: simulator and API on loopback, ManualClock, tenant."""

from tests.accounts.conftest import clock, linkedin, revos_url, sim, tenant  # noqa: F401

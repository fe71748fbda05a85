"""The analytics API's models: one shape for every report (period, keys, figures)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

Granularity = Literal["day", "week", "month"]


class AnalyticsReport(BaseModel):
    report: str = Field(description="funnel | posts | templates | accounts | pods")
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    granularity: Granularity
    rows: list[dict[str, Any]] = Field(
        description="one per period (a week starts on Monday, a month on its 1st) and key; "
        "figures are sums over the period's days"
    )
    totals: dict[str, float] = Field(description="the figures summed over every row")

    model_config = {"populate_by_name": True}

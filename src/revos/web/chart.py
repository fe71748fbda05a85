"""A small server-rendered SVG line chart (no script, no library): one line per series over days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PALETTE = ("#2956d6", "#0f7b3f", "#b45309", "#9333ea", "#b42318", "#0e7490")


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    points: str  # the polyline's "x,y x,y …"
    total: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    top: int
    series: list[Series]
    x_labels: list[tuple[float, str]]
    y_labels: list[tuple[float, str]]
    left: int
    bottom: int


def line_chart(
    days: list[date], values: dict[str, dict[date, int]], *, width: int = 720, height: int = 220
) -> Chart:
    """`values`: per series label, the count of each day (missing days are 0)."""
    left, right, top, bottom = 40, 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(n for by_day in values.values() for n in by_day.values())])
    step = plot_w / max(1, len(days) - 1)

    def y(n: int) -> float:
        return top + plot_h - plot_h * n / peak

    series = []
    for i, (label, by_day) in enumerate(values.items()):
        coords = " ".join(f"{left + k * step:.1f},{y(by_day.get(d, 0)):.1f}" for k, d in enumerate(days))
        series.append(Series(label, PALETTE[i % len(PALETTE)], coords, sum(by_day.values())))
    every = max(1, len(days) // 6)
    x_labels = [(left + k * step, d.strftime("%d %b")) for k, d in enumerate(days) if k % every == 0]
    y_labels = [(y(n), str(n)) for n in sorted({0, peak // 2, peak})]
    return Chart(width, height, top, series, x_labels, y_labels, left, height - bottom)


def last_days(today: date, n: int) -> list[date]:
    return [today - timedelta(days=n - 1 - k) for k in range(n)]

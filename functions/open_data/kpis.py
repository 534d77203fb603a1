"""The ``/open-data/`` page's journey section: the KPIs by month and service, as charts.

Drawn from ``stats.json``'s journey rows over all channels (``channel = "all"``); each chart is
an inline SVG with an accessible name followed by its numbers as a table, withheld values shown
as "withheld" (see :mod:`functions.open_data.year`). The rows per channel are in
``journey.csv``.
"""

from __future__ import annotations

from collections.abc import Callable

from functions.open_data.year import grouped
from schemas.open_data import JourneyRow, Stats

Measure = Callable[[JourneyRow], float | int | None]

CHARTS: tuple[tuple[str, Measure, str, float | None], ...] = (
    ("Median hours to first response", lambda r: r.median_first_response_hours, " h", None),
    ("Median hours to resolution", lambda r: r.median_resolution_hours, " h", None),
    ("90th percentile hours to resolution", lambda r: r.p90_resolution_hours, " h", None),
    (
        "Share resolved within the SLA",
        lambda r: None if r.within_sla_share is None else round(100 * r.within_sla_share, 1),
        "%",
        100,
    ),
    (
        "Reopen rate",
        lambda r: None if r.reopen_rate is None else round(100 * r.reopen_rate, 1),
        "%",
        100,
    ),
    ("Followers (me too)", lambda r: r.followers, "", None),
    ("Satisfaction (mean of 1–5)", lambda r: r.satisfaction_mean, "", 5),
)


def charts(stats: Stats) -> str:
    """One chart per KPI: months across, one bar per service (all channels together)."""
    rows = [r for r in stats.journey if r.channel == "all"]
    if not rows:
        return "<p>No journey figures yet.</p>"
    months = sorted({r.month for r in rows})[-12:]
    services = sorted({r.service_code for r in rows})
    cell = {(r.month, r.service_code): r for r in rows}
    out = []
    for title, measure, unit, top in CHARTS:
        series: dict[str, list[float | None]] = {
            code: [
                None if (row := cell.get((m, code))) is None else _number(measure(row))
                for m in months
            ]
            for code in services
        }
        out.append(grouped(f"{title}, by month of submission", months, series, unit, top=top))
    return "".join(out)


def _number(value: float | int | None) -> float | None:
    return None if value is None else float(value)

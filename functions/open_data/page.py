"""The ``/open-data/`` page: the aggregates as inline SVG charts, no JavaScript.

Charts only show published cells; withheld cells are counted and said so beside each chart.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.catalog import Catalog
    from schemas.open311 import Stats

COLORS = ("#1f6feb", "#d97706", "#15803d", "#b91c1c", "#7c3aed", "#0e7490", "#a16207")
DAYS_SHOWN = 60


def _bars(title: str, totals: dict[str, int], colors: dict[str, str] | None = None) -> str:
    """A horizontal bar chart of ``totals`` (label → value), coloured per label if given."""
    if not totals:
        return (
            f"<figure><figcaption>{escape(title)}</figcaption><p>No published cells.</p></figure>"
        )
    top = max(totals.values()) or 1
    height = 26 * len(totals) + 10
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 420 {height}" width="420" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(sorted(totals.items(), key=lambda kv: -kv[1])):
        y = 5 + i * 26
        width = int(200 * value / top)
        color = (colors or {}).get(label, COLORS[(i + 3) % len(COLORS)])
        parts.append(
            f'<text x="0" y="{y + 16}" font-size="13">{escape(label)}</text>'
            f'<rect x="170" y="{y}" width="{width}" height="20" fill="{color}">'
            f"<title>{escape(label)}: {value} requests</title></rect>"
            f'<text x="{176 + width}" y="{y + 16}" font-size="13">{value}</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>"


def _daily(stats: Stats, codes: list[str]) -> str:
    """Stacked bars: published requests per day, one colour per service."""
    end = date.fromisoformat(stats.end_date)
    days = [end - timedelta(days=n) for n in range(DAYS_SHOWN - 1, -1, -1)]
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in stats.rows:
        if row.count:
            per_day[row.date][row.service_code] += row.count
    top = max((sum(v.values()) for v in per_day.values()), default=0) or 1
    step = 12
    width, height, bar = step * DAYS_SHOWN + 40, 200, step - 2
    parts = [
        f'<svg role="img" aria-label="Requests per day" viewBox="0 0 {width} {height + 30}" '
        f'width="{width}" height="{height + 30}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="12" font-size="12">{top}</text>',
        f'<text x="0" y="{height}" font-size="12">0</text>',
        f'<line x1="30" y1="{height}" x2="{width}" y2="{height}" stroke="#888"/>',
    ]
    for i, day in enumerate(days):
        x, y = 32 + i * step, height
        for code in codes:
            value = per_day.get(day.isoformat(), {}).get(code, 0)
            if not value:
                continue
            h = max(1, int((height - 20) * value / top))
            y -= h
            color = _color(codes, code)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="{color}">'
                f"<title>{day.isoformat()} {escape(code)}: {value}</title></rect>"
            )
        if i % 7 == 0:
            parts.append(
                f'<text x="{x}" y="{height + 16}" font-size="11">{day.isoformat()[5:]}</text>'
            )
    parts.append("</svg>")
    legend = " ".join(
        f'<span><svg width="10" height="10"><rect width="10" height="10" '
        f'fill="{COLORS[i % len(COLORS)]}"/></svg> {escape(code)}</span>'
        for i, code in enumerate(codes)
    )
    return (
        f"<figure><figcaption>Requests per day, last {DAYS_SHOWN} days</figcaption>"
        f"{''.join(parts)}<p>{legend}</p></figure>"
    )


def _color(codes: list[str], code: str) -> str:
    return COLORS[codes.index(code) % len(COLORS)] if code in codes else COLORS[-1]


def _resolution(stats: Stats) -> str:
    rows = [r for r in stats.rows if r.median_resolution_hours is not None]
    if not rows:
        return "<p>No published closed cells yet.</p>"
    lines = "".join(
        f"<tr><td>{r.date}</td><td>{escape(r.service_code)}</td><td>{r.channel}</td>"
        f"<td>{r.status}</td><td>{r.count}</td><td>{r.median_resolution_hours}</td>"
        f"<td>{r.p90_resolution_hours}</td><td>{r.sla_breach_rate}</td></tr>"
        for r in rows[-30:]
    )
    return (
        "<table><thead><tr><th>day</th><th>service</th><th>channel</th><th>status</th>"
        "<th>count</th><th>median h</th><th>p90 h</th><th>SLA breach rate</th></tr></thead>"
        f"<tbody>{lines}</tbody></table>"
    )


def render(stats: Stats, catalog: Catalog) -> str:
    """The whole page as HTML."""
    codes = [s.service_code for s in catalog.services]
    by_service: dict[str, int] = defaultdict(int)
    by_channel: dict[str, int] = defaultdict(int)
    by_status: dict[str, int] = defaultdict(int)
    for row in stats.rows:
        if row.count:
            by_service[row.service_code] += row.count
            by_channel[row.channel] += row.count
            by_status[row.status] += row.count
    withheld = sum(1 for r in stats.rows if r.suppressed)
    name = escape(catalog.jurisdiction.name("en"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Open data – {name}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1b1f24}}
figure{{margin:1.5rem 0}} figcaption{{font-weight:600;margin-bottom:.5rem}}
table{{border-collapse:collapse;font-size:.9rem}} td,th{{border:1px solid #ccd;padding:.2rem .5rem}}
.grid{{display:flex;flex-wrap:wrap;gap:2rem}} code{{background:#f3f4f6;padding:0 .2rem}}
</style></head><body>
<h1>Open data: citizen requests in {name}</h1>
<p>Requests submitted from {stats.start_date} to {stats.end_date}, counted per day, service,
channel and current status (generated {escape(stats.generated_at)}). No personal data is in
these figures. Cells with fewer than {stats.suppression_threshold} requests are withheld:
{withheld} of {len(stats.rows)} cells here, left out of every chart and total below.</p>
<p>Download: <a href="/open-data/v1/stats.csv">stats.csv</a> ·
<a href="/open-data/v1/stats.json">stats.json</a> · Open311 GeoReport v2:
<a href="/open311/v2/discovery.json">discovery</a>,
<a href="/open311/v2/services.json">services</a>,
<a href="/open311/v2/requests.json">requests</a> (also <code>.xml</code>).</p>
{_daily(stats, codes)}
<div class="grid">
{_bars("By service", dict(by_service), {c: _color(codes, c) for c in codes})}
{_bars("By channel", dict(by_channel))}
{_bars("By current status", dict(by_status))}
</div>
<h2>Time to close and SLA breaches (latest 30 published closed cells)</h2>
{_resolution(stats)}
</body></html>
"""

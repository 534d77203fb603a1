"""The ``/open-data/`` page: the last 12 months by month, the bulk files, and the daily
aggregates, as inline SVG charts with their numbers in tables; no JavaScript.

Charts only show published cells; withheld cells are counted and said so beside each chart.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import TYPE_CHECKING, Any

from functions.open_data import kpis, year

if TYPE_CHECKING:
    from functions.domain.open_data.bulk import Manifest
    from schemas.catalog import Catalog
    from schemas.open_data import Stats

COLORS = ("#1f6feb", "#d97706", "#15803d", "#b91c1c", "#7c3aed", "#0e7490", "#a16207")


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


def render(
    stats: Stats,
    catalog: Catalog,
    manifest: Manifest | None = None,
    summary: dict[str, Any] | None = None,
) -> str:
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
caption{{text-align:left;font-weight:600}} details{{margin:.5rem 0}}
svg{{max-width:100%;height:auto}}
.legend{{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}}
.sw{{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem}}
</style></head><body>
<h1>Open data: citizen requests in {name}</h1>
<p>No personal data is in these figures or files. Counts and measures over fewer than
{stats.suppression_threshold} requests are withheld.</p>
<h2>The last 12 months</h2>
{year.charts(summary)}
<h2>After filing: the journey</h2>
<p>Per month of submission and service, all channels together: time to first response and
to resolution, the share resolved within the SLA, how often citizens reopened a resolved
request, how many others reported the same thing (followers), and what citizens thought.
Per channel: <a href="/open-data/v1/journey.csv">journey.csv</a> (also in
<code>stats.json</code>).</p>
{kpis.charts(stats)}
<h2>Bulk files</h2>
{year.files(manifest)}
<h2>Daily aggregates</h2>
<p>Requests submitted from {stats.start_date} to {stats.end_date}, counted per day, service,
channel and current status (generated {escape(stats.generated_at)}). Cells with fewer than
{stats.suppression_threshold} requests are withheld:
{withheld} of {len(stats.rows)} cells here, left out of every chart and total below.</p>
<p>Download: <a href="/open-data/v1/stats.csv">stats.csv</a> ·
<a href="/open-data/v1/stats.json">stats.json</a> · Open311 GeoReport v2:
<a href="/open311/v2/discovery.json">discovery</a>,
<a href="/open311/v2/services.json">services</a>,
<a href="/open311/v2/requests.json">requests</a> (also <code>.xml</code>).</p>
<div class="grid">
{_bars("By service", dict(by_service), {c: _color(codes, c) for c in codes})}
{_bars("By channel", dict(by_channel))}
{_bars("By current status", dict(by_status))}
</div>
<h3>Time to close and SLA breaches (latest 30 published closed cells)</h3>
{_resolution(stats)}
</body></html>
"""

"""The ``/open-data/`` page's year: the last 12 months by month, and the bulk files' listing.

Drawn from the export's ``summary.json`` and ``manifest.json`` (two small reads). Each chart
is an inline SVG with an accessible name, followed by its numbers as a table (the text
alternative); withheld values (fewer requests than the threshold) are not drawn and show as
"withheld" in the tables. No JavaScript.
"""

from __future__ import annotations

from html import escape
from typing import Any

from functions.domain.open_data.bulk import Manifest, kind, listing

COLORS = ("#1f6feb", "#d97706", "#15803d", "#b91c1c", "#7c3aed", "#0e7490", "#a16207", "#6b7280")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WIDTH, HEIGHT, STEP = 680, 200, 52
DOWNLOAD = "/open-data/v1/bulk/"


def _label(month: str) -> str:
    return f"{MONTH_NAMES[int(month[5:]) - 1]} {month[2:4]}"


def _value(value: float | None, unit: str = "") -> str:
    return "withheld" if value is None else f"{value:g}{unit}"


def _table(caption: str, months: list[str], series: dict[str, list[Any]], unit: str = "") -> str:
    head = "".join(f'<th scope="col">{_label(m)}</th>' for m in months)
    body = "".join(
        f'<tr><th scope="row">{escape(name)}</th>'
        + "".join(f"<td>{_value(v, unit)}</td>" for v in values)
        + "</tr>"
        for name, values in series.items()
    )
    return (
        f"<details><summary>{escape(caption)}: the numbers</summary><table>"
        f'<caption>{escape(caption)}</caption><thead><tr><th scope="col">month</th>{head}'
        f"</tr></thead><tbody>{body}</tbody></table></details>"
    )


def _legend(names: list[str]) -> str:
    items = "".join(
        f'<li><span class="sw" style="background:{COLORS[i % len(COLORS)]}"></span>'
        f"{escape(name)}</li>"
        for i, name in enumerate(names)
    )
    return f'<ul class="legend">{items}</ul>'


def _frame(title: str, top: float, unit: str, months: list[str], inner: list[str]) -> str:
    labels = "".join(
        f'<text x="{48 + i * STEP}" y="{HEIGHT + 16}" font-size="11">{_label(m)}</text>'
        for i, m in enumerate(months)
    )
    return (
        f'<svg role="img" aria-label="{escape(title)} (numbers in the table below)" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + 24}" width="{WIDTH}" height="{HEIGHT + 24}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<text x="0" y="14" font-size="11">{top:g}{unit}</text>'
        f'<text x="0" y="{HEIGHT}" font-size="11">0</text>'
        f'<line x1="44" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#888"/>'
        f"{''.join(inner)}{labels}</svg>"
    )


def stacked(title: str, months: list[str], series: dict[str, list[int | None]]) -> str:
    """Requests per month, one coloured segment per series (withheld values not drawn)."""
    totals = [sum(v[i] or 0 for v in series.values()) for i in range(len(months))]
    top = max(totals, default=0) or 1
    inner = []
    for i, month in enumerate(months):
        y = HEIGHT
        for n, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = max(1, round((HEIGHT - 24) * value / top))
            y -= h
            inner.append(
                f'<rect x="{48 + i * STEP}" y="{y}" width="{STEP - 12}" height="{h}" '
                f'fill="{COLORS[n % len(COLORS)]}"><title>{_label(month)} {escape(name)}: '
                f"{value}</title></rect>"
            )
    return (
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f"{_frame(title, top, '', months, inner)}{_legend(list(series))}"
        f"{_table(title, months, series)}</figure>"
    )


def grouped(
    title: str,
    months: list[str],
    series: dict[str, list[float | None]],
    unit: str,
    top: float | None = None,
) -> str:
    """Side-by-side bars per month (e.g. median and p90 hours); ``top`` fixes the scale."""
    top = top or max((v for vs in series.values() for v in vs if v is not None), default=0) or 1
    width = (STEP - 12) // max(1, len(series))
    inner = []
    for i, month in enumerate(months):
        for n, (name, values) in enumerate(series.items()):
            value = values[i]
            if value is None:
                continue
            h = max(1, round((HEIGHT - 24) * value / top))
            inner.append(
                f'<rect x="{48 + i * STEP + n * width}" y="{HEIGHT - h}" width="{width - 1}" '
                f'height="{h}" fill="{COLORS[n % len(COLORS)]}"><title>{_label(month)} '
                f"{escape(name)}: {value:g}{unit}</title></rect>"
            )
    return (
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f"{_frame(title, top, unit, months, inner)}{_legend(list(series))}"
        f"{_table(title, months, series, unit)}</figure>"
    )


def charts(summary: dict[str, Any] | None) -> str:
    """The year by month: volume by service and channel, time to close, share within SLA."""
    if not summary:
        return "<p>No bulk export yet: the hourly export writes the year's figures.</p>"
    months: list[str] = summary["months"]
    share = [None if v is None else round(100 * v, 1) for v in summary["within_sla_share"]]
    hours = {
        "median": summary["median_resolution_hours"],
        "90th percentile": summary["p90_resolution_hours"],
    }
    return "".join(
        (
            stacked("Requests per month by service", months, summary["by_service"]),
            stacked("Requests per month by channel", months, summary["by_channel"]),
            grouped("Hours to close, by month of submission", months, hours, " h"),
            grouped(
                "Share closed within the SLA, by month of submission",
                months,
                {"within SLA": share},
                "%",
                top=100,
            ),
        )
    )


def size(count: int) -> str:
    """``2.4 MB``, ``18.0 kB``, ``512 bytes`` (decimal units)."""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def _link(info: dict[str, Any] | None) -> str:
    if info is None:
        return "<td>–</td>"
    name = escape(info["name"])
    return (
        f'<td><a href="{DOWNLOAD}{name}" download>{name}</a> '
        f'<data value="{info["bytes"]}">{size(info["bytes"])}</data></td>'
    )


def _rows(files: list[dict[str, Any]]) -> str:
    by_stem: dict[str, dict[str, dict[str, Any]]] = {}
    for info in files:
        stem, _, ext = info["name"].rpartition(".")
        by_stem.setdefault(stem, {})[ext] = info
    out = []
    for stem, kinds in by_stem.items():
        first = kinds.get("csv") or kinds["jsonl"]
        dates = (
            first["first_date"]
            if first["first_date"] == first["last_date"]
            else (f"{first['first_date']} to {first['last_date']}")
        )
        out.append(
            f'<tr><th scope="row">{escape(stem)}</th><td>{dates}</td><td>{first["rows"]}</td>'
            f"{_link(kinds.get('csv'))}{_link(kinds.get('jsonl'))}</tr>"
        )
    return "".join(out)


def files(manifest: Manifest | None) -> str:
    """The bulk files with sizes, rows and dates, and links that download them."""
    if manifest is None or not manifest.files:
        return "<p>No bulk files yet: the hourly export writes them.</p>"
    listed = listing(manifest)
    years = [f for f in listed if kind(f["name"]) == "year"]
    days = [f for f in listed if kind(f["name"]) == "day"]
    head = (
        '<thead><tr><th scope="col">file</th><th scope="col">dates</th><th scope="col">rows</th>'
        '<th scope="col">CSV</th><th scope="col">JSON Lines</th></tr></thead>'
    )
    extra = " · ".join(
        f'<a href="{DOWNLOAD}{n}">{n}</a>'
        for n in ("dictionary.md", "dictionary.json", "manifest.json")
    )
    return (
        "<p>One row per request (no personal data, the street at most, no free text), the "
        f"same rows in CSV and JSON Lines; every column is described in the data dictionary: "
        f"{extra} (generated {escape(manifest.generated_at)}).</p>"
        f"<table><caption>Per year</caption>{head}<tbody>{_rows(years)}</tbody></table>"
        f"<details><summary>Per day ({len({f['name'][:10] for f in days})} days)</summary>"
        f"<table><caption>Per day</caption>{head}<tbody>{_rows(days)}</tbody></table>"
        "</details>"
    )

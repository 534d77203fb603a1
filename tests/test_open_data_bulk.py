"""Bulk open data: per-day and per-year CSV / JSON Lines of the public request records, the
data dictionary, the incremental export, the downloads, and the year on ``/open-data/``."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.open_data import bulk
from functions.domain.requests.intake import file_request
from functions.platform import process
from schemas.channels import Channel
from schemas.request import Contact, NewRequest
from tests.support.bus import move
from tests.support.privacy import PublicWatch

NOW = datetime.now(UTC).replace(microsecond=0)
BULK = "open-data/v1/bulk"


def file_at(
    watch: PublicWatch,
    service: str,
    at: datetime,
    n: int = 1,
    channel: Channel = "eservice",
    closed_after: timedelta | None = None,
    status: str = "resolved",
) -> list[str]:
    """File ``n`` requests at ``at`` (a minute apart) full of personal data the watch looks
    out for; close each ``closed_after`` later when given. Their references."""
    references = []
    for i in range(n):
        k = len(watch.personal)
        email = f"bulk.person{k}@example.se"
        phone = f"+4670{k:07d}"
        attributes = {
            "street-damage": {
                "address": f"Storgatan {k % 90 + 1}B, lgh 11{k % 90:02d}",
                "description": f"Hole outside my door, call me on {phone} or {email}",
            },
            "missed-waste-collection": {"address": f"Sopvägen {k % 90 + 1}, lgh 12{k % 90:02d}"},
            "tax-return-approve": {"personal_code": f"{50000000 + k:08d}"},
        }[service]
        watch.remember(email, phone, *(v for c, v in attributes.items() if c != "description"))
        new = NewRequest(
            service_code=service,
            attributes=attributes,
            contact=Contact(email=email, phone=phone),
            language="en",
            new=True,  # separate requests at one place, not "me too"
        )
        citizen = f"cit_bulk{k}" if channel in ("app", "sms", "voice") else None
        submitted = at + timedelta(minutes=i)
        filed = file_request(new, channel=channel, citizen=citizen, now=submitted)
        reference = filed.record["reference"]
        if closed_after is not None:
            move(
                reference,
                ("in_progress", submitted + closed_after / 2),
                (status, submitted + closed_after),
                note=f"Fixed; thanks {email}, we called {phone}",
            )
        references.append(reference)
    return references


def export(bus: LocalBus, rebuild: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = bus.invoke("open_data_export", {"rebuild": True} if rebuild else {})
    return result["bulk"]


def day(back: int) -> datetime:
    return (NOW - timedelta(days=back)).replace(hour=9, minute=0, second=0)


def typed(column: str, kind: str, cell: str) -> Any:
    """A CSV cell read by the dictionary's type (empty is null)."""
    if cell == "":
        return None
    if kind == "number":
        return float(cell)
    if kind == "boolean":
        assert cell in ("true", "false"), (column, cell)
        return cell == "true"
    return cell


def read_csv(text: str, dictionary: dict[str, Any]) -> list[dict[str, Any]]:
    types = {c["name"]: c["type"] for c in dictionary["columns"]}
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == list(types)
    return [{k: typed(k, types[k], v) for k, v in row.items()} for row in reader]


def read_jsonl(text: str) -> list[dict[str, Any]]:
    assert text.endswith("\n") or not text
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def s3_objects() -> Any:
    """The bulk objects in the bucket: key → size and ETag."""

    def objects() -> dict[str, dict[str, Any]]:
        s3 = boto3.client("s3")
        bucket = os.environ["OPEN_DATA_BUCKET"]
        found = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=BULK):
            for item in page.get("Contents", []):
                found[item["Key"]] = {"size": item["Size"], "etag": item["ETag"]}
        return found

    return objects


def test_bulk_files_hold_no_personal_data_and_csv_jsonl_and_dictionary_agree(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    file_at(open_data, "street-damage", day(40), 6, "sms", closed_after=timedelta(hours=30))
    file_at(open_data, "street-damage", day(40) + timedelta(hours=2), 2, "voice")
    file_at(open_data, "missed-waste-collection", day(12), 5, "open311", timedelta(days=2))
    file_at(open_data, "tax-return-approve", day(3), 3, "app", timedelta(days=1), "rejected")
    open_data.file("street-damage")  # over Open311 today: name, phone, e-mail, full address
    export(bus)

    files = {k: v for k, v in open_data.exports().items() if k.startswith(BULK)}  # all read
    dictionary = json.loads(files[f"{BULK}/dictionary.json"])
    names = [c["name"] for c in dictionary["columns"]]
    assert all(
        c["type"] and c["meaning"] and c["values"] and c["privacy"] for c in dictionary["columns"]
    )
    markdown = files[f"{BULK}/dictionary.md"]
    assert all(f"| `{n}` |" in markdown for n in names)
    assert not {"description", "status_notes", "email", "phone", "address"} & set(names)

    data = sorted(k for k in files if k.endswith((".csv", ".jsonl")))
    assert len(data) == 2 * (4 + 1)  # four days and their year (this year or two)
    for key in (k for k in data if k.endswith(".csv")):
        rows = read_csv(files[key], dictionary)
        assert rows == read_jsonl(files[key.removesuffix(".csv") + ".jsonl"]), key
        assert all(list(r) == names for r in rows)
    year_rows = [
        r for k in data if "/years/" in k and k.endswith(".jsonl") for r in read_jsonl(files[k])
    ]
    assert len(year_rows) == 17
    by_ref = {r["service_request_id"]: r for r in year_rows}
    streets = {r["street"] for r in year_rows if r["service_code"] == "street-damage"}
    assert streets == {"Storgatan"}  # no number, entrance or apartment
    # home addresses (a personal attribute) and personal codes are not published at all
    assert all(r["street"] is None for r in year_rows if r["service_code"] != "street-damage")
    # the channel is withheld where the aggregates would withhold the cell (2 voice < 5)
    channels = [(r["service_code"], r["channel"]) for r in year_rows]
    assert channels.count(("street-damage", "sms")) == 6
    assert channels.count(("street-damage", None)) == 2 + 1  # 2 voice, and today's 1 open311
    assert channels.count(("tax-return-approve", None)) == 3
    resolved = [r for r in by_ref.values() if r["channel"] == "sms"]
    assert {r["resolution_hours"] for r in resolved} == {30.0}
    assert {r["within_sla"] for r in resolved} == {True}
    waste = [r for r in year_rows if r["service_code"] == "missed-waste-collection"]
    assert {(r["status"], r["open311_status"], r["within_sla"]) for r in waste} == {
        ("resolved", "closed", True)
    }
    late = [
        r
        for r in year_rows
        if r["channel"] is None and r["requested_date"] == day(40).date().isoformat()
    ]
    assert {(r["closed_datetime"], r["within_sla"]) for r in late} == {(None, False)}


def assert_year_is_its_days(files: dict[str, str], year: int) -> list[str]:
    """The year's CSV is its day files' in date order under one header, its JSON Lines theirs
    concatenated; the keys of its day files."""
    days = sorted(k for k in files if k.startswith(f"{BULK}/days/{year}/"))
    csvs = [files[k] for k in days if k.endswith(".csv")]
    header = csvs[0].split("\n", 1)[0] + "\n"
    assert all(c.startswith(header) for c in csvs)
    assert files[f"{BULK}/years/{year}.csv"] == header + "".join(
        c.removeprefix(header) for c in csvs
    )
    assert files[f"{BULK}/years/{year}.jsonl"] == "".join(
        files[k] for k in days if k.endswith(".jsonl")
    )
    return days


def test_a_year_file_is_the_concatenation_of_its_day_files(
    open_data: PublicWatch, bus: LocalBus, s3_objects: Any
) -> None:
    for back in (200, 61, 60, 5):
        file_at(open_data, "street-damage", day(back), closed_after=timedelta(hours=back))
    export(bus)
    files = {k: v for k, v in open_data.exports().items() if k.startswith(BULK)}
    manifest = json.loads(files[f"{BULK}/manifest.json"])
    years = sorted({(NOW - timedelta(days=b)).year for b in (200, 61, 60, 5)})
    for year in years:
        days = assert_year_is_its_days(files, year)
        info = manifest["files"][f"{year}.csv"]
        assert info["rows"] == len(read_jsonl(files[f"{BULK}/years/{year}.jsonl"]))
        assert info["first_date"] == days[0].rsplit("/", 1)[1][:10]
    # sizes in the manifest are the objects' sizes
    objects = s3_objects()
    for name, info in manifest["files"].items():
        assert objects[bulk.key_of(name)]["size"] == info["bytes"], name


def test_rerunning_writes_nothing_and_a_final_day_is_neither_reread_nor_rewritten(
    open_data: PublicWatch, bus: LocalBus, s3_objects: Any
) -> None:
    (done,) = file_at(open_data, "street-damage", day(30), closed_after=timedelta(hours=5))
    (waiting,) = file_at(open_data, "street-damage", day(20))  # open: its day is not final
    first = export(bus)
    assert first["days_read"] == 366 and first["records_read"] == 2
    before = s3_objects()

    again = export(bus)
    assert again["written"] == [] and s3_objects() == before  # idempotent
    assert again["days_read"] < 10  # the open day and the last few, not the year
    assert again["records_read"] == 1  # the open request only

    # a request filed late into the final day is not seen (the day is final) ...
    file_at(open_data, "street-damage", day(30) + timedelta(hours=1))
    assert export(bus)["written"] == []
    # ... and the open day is rewritten when its request closes, with its year
    move(waiting, ("in_progress", day(19)), ("resolved", day(18)))
    changed = export(bus)
    stem = day(20).date().isoformat()
    # (the monthly summary is unchanged: two requests a month are withheld either way)
    assert sorted(changed["written"]) == sorted(
        [
            f"{BULK}/days/{stem[:4]}/{stem}.csv",
            f"{BULK}/days/{stem[:4]}/{stem}.jsonl",
            f"{BULK}/years/{stem[:4]}.csv",
            f"{BULK}/years/{stem[:4]}.jsonl",
            f"{BULK}/manifest.json",
        ]
    )
    after = s3_objects()
    # the year kept its first part (the final day) from the last year file and is still
    # exactly its days
    assert_year_is_its_days(open_data.exports(), day(20).year)
    final = f"{BULK}/days/{day(30).year}/{day(30).date()}.csv"
    assert after[final] == before[final]
    # a rebuild (after a backfill) rereads every day, and picks up the late request
    rebuilt = export(bus, rebuild=True)
    assert final in rebuilt["written"]
    text = open_data.exports()[final]
    assert text.count("\n") == 3 and done in text


def test_the_page_lists_the_files_with_their_sizes_and_links_that_download_them(
    open_data: PublicWatch, bus: LocalBus, s3_objects: Any
) -> None:
    file_at(open_data, "street-damage", day(33), 2, closed_after=timedelta(days=2))
    file_at(open_data, "missed-waste-collection", day(2))
    before = open_data.get("/open-data/").text
    assert "No bulk files yet" in before
    export(bus)
    html = open_data.get("/open-data/").text
    objects = s3_objects()
    manifest = json.loads(open_data.get("/open-data/v1/bulk/manifest.json").text)
    listed = [n for n in manifest["files"] if n != "summary.json"]
    assert len(listed) == 2 * 3 + 2  # two days, one year (or two), the dictionary
    for name in listed:
        size = objects[bulk.key_of(name)]["size"]
        assert f'href="/open-data/v1/bulk/{name}"' in html
        answer = open_data.get(f"/open-data/v1/bulk/{name}")
        assert answer.status == 200 and len(answer.text.encode()) == size
        assert answer.headers["Content-Disposition"] == f'attachment; filename="{name}"'
        if bulk.kind(name) != "other":
            assert f'{name}</a> <data value="{size}">' in html
    stem = day(33).date().isoformat()
    assert re.search(rf"<th scope=\"row\">{stem}</th><td>{stem}</td><td>2</td>", html)
    assert (
        open_data.get(f"/open-data/v1/bulk/{stem}.jsonl")
        .headers["Content-Type"]
        .startswith("application/x-ndjson")
    )
    # only names of the bulk layout, and only files that exist
    for name in (
        "..%2Fstats.json",
        "stats.json",
        "2026-13-45.csv",
        "x.csv",
        "2026.txt",
        f"{(NOW - timedelta(days=9)).date()}.csv",
        "1999.csv",
    ):
        answer = open_data.get(f"/open-data/v1/bulk/{name}")
        assert answer.status == 404, name


def test_in_aws_a_download_is_a_redirect_to_a_presigned_url(
    open_data: PublicWatch, bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    from functions.open_data import downloads

    file_at(open_data, "missed-waste-collection", day(4))
    export(bus)
    monkeypatch.setenv("CITIZENBUS_LOCAL", "0")
    process.reset()
    try:
        answer = downloads.serve("dictionary.md")
        assert answer.status_code == 302
        url = answer.headers["Location"]
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
        assert "/open-data/v1/bulk/dictionary.md" in url
        fetched = requests.get(url, timeout=5)  # moto answers presigned URLs in-process
        assert fetched.status_code == 200 and fetched.text.startswith("# citizenbus bulk")
        with pytest.raises(Exception, match="no such bulk file"):
            downloads.serve("1999.csv")
    finally:
        monkeypatch.setenv("CITIZENBUS_LOCAL", "1")
        process.reset()
    open_data.saw("dictionary.md (presigned)", fetched.text)


def test_a_year_is_charted_by_month_with_its_numbers_in_tables() -> None:
    # a city's year (threshold 2 to keep it small): every month two street-damage requests by
    # e-service, one closed in 10 + n hours and one in 20 days (past the 14-day SLA), and one
    # by SMS still open
    with LocalBus(env={"OPEN_DATA_SUPPRESSION": "2"}) as local:
        watch = PublicWatch(local)
        fast: dict[str, int] = {}
        for back in range(11, -1, -1):
            index = NOW.year * 12 + NOW.month - 1 - back
            at = NOW.replace(year=index // 12, month=index % 12 + 1, day=2, hour=8, minute=0)
            at = min(at, NOW - timedelta(days=1, hours=2))
            fast[at.strftime("%Y-%m")] = 10 + back
            file_at(watch, "street-damage", at, closed_after=timedelta(hours=10 + back))
            file_at(watch, "street-damage", at, closed_after=timedelta(days=20))
            file_at(watch, "street-damage", at, channel="sms")
        export(local)
        summary = json.loads(watch.get("/open-data/v1/bulk/summary.json").text)
        html = watch.get("/open-data/").text
        watch.assert_clean()

    months = summary["months"]
    assert len(months) == 12 and months == sorted(fast)
    assert summary["by_service"]["street-damage"] == [3] * 12
    assert summary["by_channel"]["eservice"] == [2] * 12
    assert summary["by_channel"]["withheld"] == [None] * 12  # 1 SMS a day: withheld
    assert summary["median_resolution_hours"] == [(fast[m] + 480) / 2 for m in months]
    assert summary["p90_resolution_hours"][0] == round(21 + (480 - 21) * 0.9, 1)
    # judged: the 2 closed (one within) and the open one past its SLA
    assert summary["within_sla_share"] == [round(1 / 3, 3)] * 12

    assert "<script" not in html
    figures = re.findall(r"<figure>.*?</figure>", html, re.S)
    # the first four; the journey KPIs' charts follow (tests/test_kpis.py)
    year = [f for f in figures if "by month" in f or "per month" in f][:4]
    captions = [re.findall(r"<figcaption>(.*?)</figcaption>", f)[0] for f in year]
    assert captions == [
        "Requests per month by service",
        "Requests per month by channel",
        "Hours to close, by month of submission",
        "Share closed within the SLA, by month of submission",
    ]
    for figure in year:
        assert 'role="img" aria-label="' in figure and "<table>" in figure  # text alternative
        assert figure.count('<th scope="col">') == 13  # a column per month, not per day
    assert year[0].count("<rect") == 12 and "street-damage: 3</title>" in year[0]
    assert year[1].count("<rect") == 12 and "<td>withheld</td>" in year[1]  # SMS, 1 a month
    assert year[2].count("<rect") == 24
    assert f"<td>{(fast[months[-1]] + 480) / 2:g} h</td>" in year[2]
    assert year[3].count("<td>33.3%</td>") == 12


def test_a_run_short_of_time_stops_between_months_and_the_next_goes_on(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    from functions.platform.catalog import get_catalog

    old, recent = day(365), day(3)  # the window's first month, and its last
    file_at(open_data, "street-damage", old, closed_after=timedelta(hours=3))
    file_at(open_data, "street-damage", recent)
    short = bulk.export(get_catalog(), time_left_ms=lambda: 1_000)  # one month, then stop
    assert short.unfinished and short.records_read == 1
    state = bulk.manifest()
    assert state is not None and f"{old.date()}.csv" in state.files
    assert f"{recent.date()}.csv" not in state.files
    rest = bulk.export(get_catalog())
    assert not rest.unfinished and rest.records_read == 1  # only what the first did not reach
    files = open_data.exports()
    for year in {old.year, recent.year}:
        assert_year_is_its_days(files, year)


def test_a_street_cannot_become_a_spreadsheet_formula() -> None:
    from functions.platform.catalog import get_catalog

    record: Any = {
        "reference": "1234567890",
        "submitted_at": "2026-03-01T10:00:00Z",
        "service_code": "street-damage",
        "agency": "streets",
        "channel": "app",
        "status": "received",
        "expected_at": "2026-03-15T10:00:00Z",
        "updated_at": "2026-03-01T10:00:00Z",
        "history": [],
        "attributes": {"address": '=HYPERLINK("http://evil.example") 5'},
    }
    now = datetime(2026, 3, 2, tzinfo=UTC)
    for address in ('=HYPERLINK("http://evil.example") 5', "@SUM(1+1) 3", "+cmd 1", "-x 2"):
        record["attributes"]["address"] = address
        row = bulk.public_row(record, get_catalog(), now, "app")
        assert (row["street"] or "x")[0] not in "=+-@", row["street"]
        cell = bulk.to_csv([row], tuple(row)).splitlines()[1]
        assert not re.search(r"(^|,)\"?[=+\-@]", cell), cell
    record["attributes"]["address"] = '=HYPERLINK("http://evil.example") 5'
    assert bulk.public_row(record, get_catalog(), now, "app")["street"] == (
        'HYPERLINK("http://evil.example")'
    )


def test_a_new_month_moves_the_twelve_months_shown_even_without_new_files(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    from functions.platform.catalog import get_catalog

    file_at(open_data, "street-damage", day(40), closed_after=timedelta(hours=3))
    bulk.export(get_catalog())
    first = json.loads(open_data.get("/open-data/v1/bulk/summary.json").text)["months"]
    later = NOW.replace(day=1) + timedelta(days=40)  # a month on, no request since
    run = bulk.export(get_catalog(), now=later)
    months = json.loads(open_data.get("/open-data/v1/bulk/summary.json").text)["months"]
    assert f"{BULK}/summary.json" in run.written
    assert months[-1] == later.strftime("%Y-%m") and months[:-1] != first[:-1]
    assert bulk.export(get_catalog(), now=later).written == []

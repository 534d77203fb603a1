"""``citizenbus seed``: a synthetic city, the same for the same seed, with fictional contacts,
filed through intake and the lifecycle of a running bus as history (nothing announced)."""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from citizenbus import cli
from citizenbus.local import seed
from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.platform import aws
from functions.platform.catalog import get_catalog
from functions.platform.settings import get_settings
from tests.support.serve import in_process

TOKEN = "operator-token-for-the-seed-test"
END = date(2026, 11, 30)
SLA = {"street-damage": 14, "missed-waste-collection": 3, "tax-return-approve": 5}


def city(n: int, s: int = 7, days: int = 365) -> list[dict[str, Any]]:
    return list(seed.plan(n, days, s, END, SLA))


def test_the_same_seed_plans_the_same_city_and_another_seed_another() -> None:
    assert city(300) == city(300)
    assert city(300) != city(300, s=8)
    assert len(city(300)) == 300


def test_every_contact_is_fictional() -> None:
    filings = city(3000)
    phones = {f["contact"]["phone"] for f in filings if "phone" in f["contact"]}
    emails = {f["contact"]["email"] for f in filings if "email" in f["contact"]}
    assert phones and emails
    # PTS's range for fiction: 070-174 06 05 … 070-174 06 99, never a number that can ring
    assert all(p.startswith("+467017406") and 5 <= int(p[-2:]) <= 99 for p in phones)
    assert phones <= set(seed.FICTIONAL_PHONES)
    assert all(e.endswith("@example.org") for e in emails)


def test_the_year_has_its_seasons_weekdays_channels_and_outcomes() -> None:
    filings = city(20_000)
    by_month: Counter[tuple[str, int]] = Counter()
    for f in filings:
        by_month[(f["service_code"], int(f["submitted_at"][5:7]))] += 1
    # potholes after the thaw: April busier than July by far
    assert by_month[("street-damage", 4)] > 3 * by_month[("street-damage", 7)]
    # tax approvals in the filing season (March to May)
    tax = sum(by_month[("tax-return-approve", m)] for m in range(1, 13))
    season = sum(by_month[("tax-return-approve", m)] for m in (3, 4, 5))
    assert season > 0.9 * tax
    # missed collections after the holidays: the first days of January against early February
    jan = sum(1 for f in filings if f["service_code"] == "missed-waste-collection"
              and "2026-01-02" <= f["submitted_at"][:10] <= "2026-01-08")  # fmt: skip
    feb = sum(1 for f in filings if f["service_code"] == "missed-waste-collection"
              and "2026-02-09" <= f["submitted_at"][:10] <= "2026-02-15")  # fmt: skip
    assert jan > 1.8 * feb
    weekdays = Counter(date.fromisoformat(f["submitted_at"][:10]).weekday() for f in filings)
    assert weekdays[0] > 1.5 * weekdays[6]  # Mondays over Sundays
    channels = Counter(f["channel"] for f in filings)
    assert set(channels) == {"sms", "voice", "app", "eservice", "open311"}
    closing = Counter(f["steps"][-1]["status"] for f in filings if f["steps"])
    assert closing["rejected"] > 0.02 * len(filings)
    assert any(s["status"] == "needs_info" for f in filings for s in f["steps"])
    assert sum(1 for f in filings if not f["steps"]) > 0  # some still unanswered


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, LocalBus]]:
    monkeypatch.setenv("CITIZENBUS_OPERATOR_TOKEN", TOKEN)
    with in_process(TOKEN) as served:
        yield served


def stored() -> list[dict[str, Any]]:
    client, table = aws.dynamodb(), get_settings().requests_table
    items = client.scan(TableName=table)["Items"]
    return sorted(items, key=lambda i: i["reference"]["S"])


def every_table() -> dict[str, list[dict[str, Any]]]:
    """Every table's items but the outbox's (whose entries are history's: none), in order."""
    client = aws.dynamodb()
    tables = [t for t in client.list_tables()["TableNames"] if "outbox" not in t]
    return {
        t: sorted(client.scan(TableName=t)["Items"], key=lambda i: json.dumps(i, sort_keys=True))
        for t in tables
    }


def seed_into(base: str, n: int, s: int) -> int:
    return cli.main(
        ["seed", "--requests", str(n), "--days", "120", "--seed", str(s), "--local", base]
    )


def test_seeding_files_through_intake_and_the_lifecycle_the_same_each_time(
    served: tuple[str, LocalBus], capsys: pytest.CaptureFixture[str]
) -> None:
    base, bus = served
    assert seed_into(base, 120, 3) == 0
    first = stored()
    assert len(first) == 120
    statuses = Counter(i["status"]["S"] for i in first)
    assert statuses["resolved"] > 0 and statuses["received"] + statuses["in_progress"] > 0
    assert all(i["history"]["L"][0]["M"]["status"]["S"] == "received" for i in first)
    assert any("sla_breached_at" in i for i in first)  # the SLA monitor ran as it would have
    # history: nothing announced, nothing queued for an agency
    bus.pump()
    assert all(not bus.queue_messages(agency_queue(a)) for a in get_catalog().agency_ids())
    assert "seeded 120 requests" in capsys.readouterr().out
    everything = every_table()
    outbox = aws.dynamodb().scan(TableName=get_settings().outbox_table)["Items"]
    assert outbox == []  # no event of the past written, so none leaves unscrubbed either
    assert everything[get_settings().verdicts_table]  # citizens answered the question
    # the same seed into a fresh bus: the same requests, field for field, and every other item
    bus.stop()
    bus.start()
    assert seed_into(base, 120, 3) == 0
    assert stored() == first
    assert every_table() == everything


def test_the_seed_route_needs_the_token_and_refuses_a_bad_batch_whole(
    served: tuple[str, LocalBus],
) -> None:
    import urllib.request
    from urllib.error import HTTPError

    base, _ = served
    good = city(3)
    bad = [*good, {**good[0], "reference": "1234567890", "attributes": {}}]

    def post(body: Any, token: str = TOKEN) -> int:
        request = urllib.request.Request(
            base + "/_local/seed",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except HTTPError as err:
            return int(err.code)

    assert post({"filings": good}, token="wrong") == 401
    assert post({"filings": bad}) == 400
    assert post({"filings": []}) == 400
    assert stored() == []
    assert post({"filings": good}) == 200
    assert len(stored()) == 3


def test_the_open_data_export_runs_soon_after_a_seed(
    served: tuple[str, LocalBus], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill is followed by the export (not an hour later), rereading every day, so the
    first stats.json and /open-data/ reads after `citizenbus seed` serve the exported files."""
    import time

    from citizenbus.local.server import EXPORT_AFTER_SEED_S

    base, bus = served
    assert bus.schedules["open_data_export"] - time.monotonic() > 30 * 60  # hourly, at start
    assert seed_into(base, 20, 5) == 0
    assert bus.schedules["open_data_export"] - time.monotonic() <= EXPORT_AFTER_SEED_S
    # a rebuild: the seed filed into past days an earlier export may have settled as final
    assert bus.schedule_extra["open_data_export"] == {"rebuild": True}
    invoked: list[tuple[str, dict[str, Any]]] = []
    invoke = bus.invoke

    def recording(function: str, event: dict[str, Any]) -> Any:
        invoked.append((function, event))
        return invoke(function, event)

    monkeypatch.setattr(bus, "invoke", recording)
    with bus.lock:
        bus.run_schedules(force=True)
        bus.run_schedules(force=True)
    exports = [e.get("rebuild") for f, e in invoked if f == "open_data_export"]
    assert exports == [True, None]  # the one after the seed, then the hourly ones as before


def test_a_batch_that_begins_with_a_me_too_follows_the_open_request() -> None:
    """The first filing of a batch may repeat an open request of an earlier batch (the same
    door): it follows it at its own time (this crashed the seed route once: the follower's
    time was read from a clock not yet set)."""
    sla = {s.service_code: s.sla_days for s in get_catalog().services}
    planned = seed.plan(400, 60, 11, date(2026, 11, 30), sla)
    first = next(
        f
        for f in planned
        if f["service_code"] == "street-damage"
        and not f["steps"]
        and any(c.isdigit() for c in f["attributes"]["address"])
    )
    from functions.domain.requests.reference import new_reference

    later = dict(first, reference=new_reference(), contact={"email": "seed-again@example.org"})
    later["submitted_at"] = first["submitted_at"].replace(first["submitted_at"][11:13], "23")
    later["channel"], later["app_user"], later["notify_by"] = "eservice", None, "none"
    with LocalBus() as bus:
        thresholds = gc.get_threshold()
        with bus.lock:
            assert seed.apply([first])["filed"] == 1
        with bus.lock:
            assert seed.apply([later])["followed"] == 1
        assert len(stored()) == 1
        # what the seeding thread changed for itself is back: the SDK client, the collector
        assert not isinstance(aws.dynamodb(), seed.DirectDynamo)
        assert gc.get_threshold() == thresholds


def _outcome(call: Any, **params: Any) -> Any:
    """What a DynamoDB call answered, or the SDK error it raised (class, code, reasons)."""
    try:
        answer = call(**params)
    except Exception as exc:  # the SDK's classes, from either client
        response = getattr(exc, "response", {})
        reasons = [r.get("Code") for r in response.get("CancellationReasons", [])]
        return (type(exc).__name__, response.get("Error", {}).get("Code"), reasons)
    for accounting in ("ResponseMetadata", "ConsumedCapacity", "ItemCollectionMetrics"):
        answer.pop(accounting, None)  # the direct client keeps no accounts
    return answer


def test_the_seeds_direct_client_answers_and_fails_as_the_sdk_does() -> None:
    """The seed's in-process client (no HTTP, no SDK serialisation) against the SDK client
    on the same operations, each on a key of its own: the same answers, and the same error
    classes and cancellation reasons a store catches (a filing's taken reference, a status
    change that lost its race, a question asked twice)."""
    with LocalBus():
        sdk = aws.dynamodb()
        direct = seed.DirectDynamo(sdk)
        table = get_settings().verdicts_table

        def item(ref: str) -> dict[str, Any]:
            return {"reference": {"S": ref}, "month": {"S": "2026-04"}, "asked_at": {"S": ref}}

        def journey(client: Any, ref: str) -> list[Any]:
            key = {"reference": {"S": ref}}
            new_only = {
                "ConditionExpression": "attribute_not_exists(#r)",
                "ExpressionAttributeNames": {"#r": "reference"},
            }
            bump = {
                "Update": {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": "SET score = :s",
                    "ConditionExpression": "attribute_not_exists(score)",
                    "ExpressionAttributeValues": {":s": {"N": "4"}},
                }
            }
            other = {"Put": {"TableName": table, "Item": item(ref + "-b")}}
            return [
                _outcome(client.put_item, TableName=table, Item=item(ref), **new_only),
                _outcome(client.put_item, TableName=table, Item=item(ref), **new_only),
                _outcome(client.transact_write_items, TransactItems=[bump]),
                _outcome(client.transact_write_items, TransactItems=[bump]),  # answered
                _outcome(client.transact_write_items, TransactItems=[other, bump]),
                _outcome(
                    client.transact_write_items,
                    TransactItems=[{"Put": {"TableName": table, "Item": item(ref), **new_only}}],
                ),
                _outcome(
                    client.update_item,
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET answered_via = :v",
                    ConditionExpression="attribute_exists(#r) AND expires_at > :n",
                    ExpressionAttributeNames={"#r": "reference"},
                    ExpressionAttributeValues={":v": {"S": "sms"}, ":n": {"N": "1"}},
                ),
                _outcome(
                    client.update_item,
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET answered_via = :v",
                    ConditionExpression="attribute_exists(#r)",
                    ExpressionAttributeNames={"#r": "reference"},
                    ExpressionAttributeValues={":v": {"S": "sms"}},
                ),
                _outcome(client.update_item, TableName=table, Key=key, UpdateExpression="SET"),
                _outcome(client.get_item, TableName=table, Key=key),
                _outcome(client.get_item, TableName=table, Key={"reference": {"S": "none"}}),
            ]

        by_sdk, by_direct = journey(sdk, "sdk"), journey(direct, "direct")

        def named(outcomes: list[Any]) -> str:  # the same, but for each journey's own key
            return (
                json.dumps(outcomes, sort_keys=True).replace('"sdk', '"x').replace('"direct', '"x')
            )

        assert named(by_direct) == named(by_sdk)
        assert by_sdk[1][:2] == (
            "ConditionalCheckFailedException",
            "ConditionalCheckFailedException",
        )
        assert by_sdk[3] == (
            "TransactionCanceledException",
            "TransactionCanceledException",
            ["ConditionalCheckFailed"],
        )
        assert by_sdk[4][2] == ["None", "ConditionalCheckFailed"]
        assert by_sdk[8][1] == "ValidationException"
        month = {
            "TableName": table,
            "IndexName": "by-month",
            "KeyConditionExpression": "#m = :m",
            "ExpressionAttributeNames": {"#m": "month"},
            "ExpressionAttributeValues": {":m": {"S": "2026-04"}},
        }
        # both journeys' first items; the second ones went with their cancelled transactions
        assert _outcome(direct.query, **month) == _outcome(sdk.query, **month)
        assert [i["reference"]["S"] for i in direct.query(**month)["Items"]] == ["direct", "sdk"]

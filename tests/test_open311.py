"""Open311 GeoReport v2 at /open311/v2/: services, requests, tokens, POST, errors, JSON = XML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import xmltodict

from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.domain.requests.intake import file_request
from schemas.request import Contact, NewRequest
from tests.support.bus import FORM, count_items, load_event, move
from tests.support.privacy import PublicWatch


def xml_list(text: str, root: str, item: str) -> list[dict[str, Any]]:
    """Open311 XML as the JSON form: lists of items, "true"/"false", empty → None."""
    parsed = xmltodict.parse(text, force_list=(item, "attribute", "value", "endpoint", "format"))
    entries = (parsed[root] or {}).get(item, [])
    return [_plain(e) for e in entries]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("attributes", "values", "endpoints", "formats"):
                inner = next(iter(v.values())) if isinstance(v, dict) else []
                out[k] = [_plain(x) for x in inner]
            else:
                out[k] = _plain(v)
        return out
    if value in ("true", "false"):
        return value == "true"
    return value


def _json_as_xml_text(data: Any) -> Any:
    """JSON values as XML carries them (text), for comparing the two formats."""
    if isinstance(data, dict):
        return {k: _json_as_xml_text(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_json_as_xml_text(v) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    return str(data)


def test_services_and_definitions_come_from_the_catalog_in_json_and_xml(
    open_data: PublicWatch,
) -> None:
    services = open_data.get("/open311/v2/services.json")
    assert services.status == 200 and services.headers["Content-Type"].startswith(
        "application/json"
    )
    codes = [s["service_code"] for s in services.json()]
    assert codes == ["tax-return-approve", "street-damage", "missed-waste-collection"]
    assert all(isinstance(s["service_code"], str) and s["metadata"] for s in services.json())
    as_xml = open_data.get("/open311/v2/services.xml")
    assert as_xml.headers["Content-Type"].startswith("text/xml")
    assert xml_list(as_xml.text, "services", "service") == _json_as_xml_text(services.json())
    english = open_data.get("/open311/v2/services.json?locale=en-GB").json()
    assert english[1]["service_name"] == "Street damage"

    definition = open_data.get("/open311/v2/services/tax-return-approve.json").json()
    assert definition["service_code"] == "tax-return-approve"
    (attribute,) = definition["attributes"]
    assert attribute | {"description": None, "datatype_description": None} == {
        "variable": True,
        "code": "personal_code",
        "datatype": "string",
        "required": True,
        "datatype_description": None,
        "order": 1,
        "description": None,
        "values": [],
    }
    street = open_data.get("/open311/v2/services/street-damage.xml")
    parsed = xmltodict.parse(street.text, force_list=("attribute",))["service_definition"]
    assert [a["code"] for a in parsed["attributes"]["attribute"]] == ["address", "description"]
    assert [a["datatype"] for a in parsed["attributes"]["attribute"]] == ["string", "text"]
    discovery = open_data.get("/open311/v2/discovery.json").json()
    assert discovery["endpoints"][0]["url"] == "http://127.0.0.1:8000/open311/v2"
    assert xmltodict.parse(open_data.get("/open311/v2/discovery.xml").text)["discovery"]


def test_post_files_once_and_shows_up_in_get_json_and_xml(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    fields = {
        "service_code": "street-damage",
        "address_string": "Hamngatan 4, 2 tr",
        "attribute[description]": "Trasig kantsten",
        "email": "kim@example.se",
        "phone": "+46 70 987 65 43",
        "first_name": "Kim",
        "last_name": "Qvarnström",
        "lat": "59.33",
        "long": "18.06",
    }
    posted = open_data.post_open311(fields, headers={"Idempotency-Key": "app-42"})
    assert posted.status == 201
    (answer,) = posted.json()
    reference, token = answer["service_request_id"], answer["token"]
    assert reference.isdigit() and isinstance(reference, str) and token
    again = open_data.post_open311(fields, headers={"Idempotency-Key": "app-42"})
    assert again.status == 200 and again.json()[0]["service_request_id"] == reference
    assert count_items("requests") == 1

    one = open_data.get(f"/open311/v2/requests/{reference}.json").json()
    assert one == [
        {
            "service_request_id": reference,
            "status": "open",
            "status_notes": None,
            "service_name": "Skada på gata",
            "service_code": "street-damage",
            "description": "Trasig kantsten",
            "agency_responsible": "Gatukontoret",
            "service_notice": None,
            "requested_datetime": one[0]["requested_datetime"],
            "updated_datetime": one[0]["requested_datetime"],
            "expected_datetime": one[0]["expected_datetime"],
            "address": "Hamngatan",
            "address_id": None,
            "zipcode": None,
            "media_url": None,
            "supporters": 0,
        }
    ]
    requested = datetime.fromisoformat(one[0]["requested_datetime"].replace("Z", "+00:00"))
    expected = datetime.fromisoformat(one[0]["expected_datetime"].replace("Z", "+00:00"))
    assert expected - requested == timedelta(days=14)  # the service's SLA
    xml = open_data.get(f"/open311/v2/requests/{reference}.xml").text
    assert xml_list(xml, "service_requests", "request") == _json_as_xml_text(one)
    listed = open_data.get("/open311/v2/requests.json").json()
    assert [r["service_request_id"] for r in listed] == [reference]

    for fmt in ("json", "xml"):
        found = open_data.get(f"/open311/v2/tokens/{token}.{fmt}")
        assert found.status == 200
        assert reference in found.text and token in found.text
    # the submitted event reached the agency with channel open311 and no contact details
    bus.pump()
    (message,) = bus.queue_messages(agency_queue("streets"))
    data = message["detail"]["data"]
    assert data["channel"] == "open311" and data["citizen"].startswith("cit_")
    assert "kim@example.se" not in str(message) and "709876543" not in str(message)


def test_post_in_xml_and_with_attribute_fields(open_data: PublicWatch) -> None:
    posted = open_data.post_open311(
        {"service_code": "missed-waste-collection", "attribute[address][]": "Sopvägen 9"}, fmt="xml"
    )
    assert posted.status == 201 and posted.headers["Content-Type"].startswith("text/xml")
    (answer,) = xml_list(posted.text, "service_requests", "request")
    got = open_data.get(f"/open311/v2/requests/{answer['service_request_id']}.json").json()
    assert got[0]["service_code"] == "missed-waste-collection"
    # A missed collection's address is a home (personal in the catalog): not even its street
    # is published, and it never rides in an event.
    assert got[0].get("address") is None


BAD_POSTS: list[tuple[dict[str, str], int, str]] = [
    ({"api_key": ""}, 401, "api_key"),
    ({"api_key": "wrong"}, 403, "api_key"),
    ({"service_code": ""}, 400, "service_code"),
    ({"service_code": "no-such"}, 400, "service_code"),
    ({"jurisdiction_id": "elsewhere.example"}, 404, "jurisdiction_id"),
    ({"address_string": ""}, 400, "address"),
    ({"lat": "95", "long": "18"}, 400, "lat"),
    ({"email": "not-an-address"}, 400, "email"),
    ({"phone": "12"}, 400, "phone"),
    ({"attribute[colour]": "red"}, 400, "colour"),
    ({"attribute[address]x": "A"}, 400, "attribute"),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_posts_get_open311_errors_and_store_nothing(open_data: PublicWatch, fmt: str) -> None:
    base = {"service_code": "street-damage", "address_string": "Storgatan 3"}
    for fields, status, words in BAD_POSTS:
        response = open_data.post_open311(base | fields, fmt=fmt)
        open_data.saw("error", response.text)
        assert response.status == status, (fields, response.text)
        if fmt == "json":
            (error,) = response.json()
        else:
            (error,) = xml_list(response.text, "errors", "error")
        assert int(error["code"]) == status and words in error["description"], fields
    assert count_items("requests") == 0 and count_items("outbox") == 0


def test_a_tax_request_with_a_bad_code_is_refused(open_data: PublicWatch) -> None:
    response = open_data.post_open311(
        {"service_code": "tax-return-approve", "attribute[personal_code]": "1234567"}
    )
    assert response.status == 400 and "personal_code" in response.json()[0]["description"]
    form = open_data.bus.request(
        "POST", "/open311/v2/requests.json", headers={"Content-Type": "application/json"}, body="{}"
    )
    assert form.status == 415 and form.json()[0]["code"] == 415
    assert count_items("requests") == 0
    open_data.saw("errors", response.text + form.text)


BAD_GETS: list[tuple[str, int]] = [
    ("/open311/v2/requests.json?start_date=yesterday", 400),
    (
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        400,
    ),
    ("/open311/v2/requests.json?start_date=2026-03-01&end_date=2026-02-01", 400),
    ("/open311/v2/requests.json?status=pending", 400),
    ("/open311/v2/requests.json?page=0", 400),
    ("/open311/v2/requests.json?page_size=1001", 400),
    ("/open311/v2/requests.json?service_code=nope", 400),
    ("/open311/v2/requests.json?jurisdiction_id=other", 404),
    ("/open311/v2/requests/1234567890.json", 404),
    ("/open311/v2/requests/abc.xml", 404),
    ("/open311/v2/tokens/1234567890-deadbeef.json", 404),
    ("/open311/v2/services/nope.json", 404),
    ("/open311/v2/services.html", 404),
    ("/open311/v2/services", 404),
    ("/open311/v2/elsewhere.json", 404),
]


def test_bad_parameters_get_open311_errors(open_data: PublicWatch) -> None:
    for path, status in BAD_GETS:
        response = open_data.get(path)
        assert response.status == status, (path, response.text)
        if path.split("?")[0].endswith(".xml"):
            (error,) = xml_list(response.text, "errors", "error")
            assert error["code"] == str(status)
        else:
            (error,) = response.json()
            assert error["code"] == status
        assert error["description"], path


def test_errors_follow_the_format_asked_for(open_data: PublicWatch) -> None:
    response = open_data.get("/open311/v2/requests.xml?status=pending")
    assert response.status == 400 and response.headers["Content-Type"].startswith("text/xml")
    assert xml_list(response.text, "errors", "error") == [
        {"code": "400", "description": "status: pending is not open or closed"}
    ]
    post = open_data.bus.request("POST", "/open311/v2/services.json", headers=FORM, body="a=b")
    assert post.status == 405


def test_filters_window_status_and_pages(open_data: PublicWatch) -> None:
    now = datetime.now(UTC)
    old = file_request(
        NewRequest(
            service_code="street-damage",
            attributes={"address": "Gamla vägen 1"},
            contact=Contact(email="old@example.se"),
        ),
        channel="eservice",
        now=now - timedelta(days=120),
    ).record["reference"]
    open_data.remember("old@example.se", "Gamla vägen 1")
    streets = [open_data.file("street-damage") for _ in range(3)]
    waste = open_data.file("missed-waste-collection")
    later = datetime.now(UTC)  # after the filings (a second may have turned since `now`)
    move(streets[0], ("in_progress", later), ("resolved", later))

    def ids(query: str) -> list[str]:
        response = open_data.get(f"/open311/v2/requests.json{query}")
        assert response.status == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    everything = ids("")
    assert set(everything) == {*streets, waste}  # the default window: the last 90 days
    times = [r["requested_datetime"] for r in open_data.get("/open311/v2/requests.json").json()]
    assert times == sorted(times, reverse=True)  # newest first
    assert set(ids("?service_code=street-damage")) == set(streets)
    assert set(ids("?service_code=street-damage,missed-waste-collection")) == {*streets, waste}
    assert ids("?status=closed") == [streets[0]]
    assert set(ids("?status=open")) == {*streets[1:], waste}
    assert set(ids("?status=open,closed")) == {*streets, waste}
    start = (now - timedelta(days=121)).isoformat(timespec="seconds").replace("+00:00", "Z")
    assert ids(f"?start_date={start}") == [old]  # 90 days from the start
    assert ids(f"?service_request_id={old},{waste},999") == [old, waste]  # overrides the rest
    assert ids("?page_size=2") + ids("?page_size=2&page=2") == everything
    assert ids("?page_size=2&page=3") == []
    closed = open_data.get(f"/open311/v2/requests/{streets[0]}.json").json()[0]
    assert (
        closed["status"] == "closed" and closed["updated_datetime"] >= closed["requested_datetime"]
    )
    xml = open_data.get("/open311/v2/requests.xml?service_code=street-damage").text
    as_json = open_data.get("/open311/v2/requests.json?service_code=street-damage").json()
    assert xml_list(xml, "service_requests", "request") == _json_as_xml_text(as_json)


def test_the_sample_event_is_served_by_the_handler(open_data: PublicWatch, bus: LocalBus) -> None:
    event = load_event("open311/get_services_xml.json")
    result = bus.invoke("open311", event)
    assert result["statusCode"] == 200 and result["headers"]["Content-Type"].startswith("text/xml")
    open_data.saw("sample", result["body"])
    assert "<service_code>street-damage</service_code>" in result["body"]
    post = bus.invoke("open311", load_event("open311/post_request_form.json"))
    assert post["statusCode"] == 201, post["body"]


def test_agency_status_changes_show_in_open311_and_the_aggregates(
    open_data: PublicWatch, bus: LocalBus
) -> None:
    reference = open_data.file("street-damage", description="Hål vid busshållplatsen")
    open_data.remember("08-123 456 78")
    key = {"Authorization": "Bearer local-streets-key"}
    for status, note in (("in_progress", None), ("resolved", "Lagat. Frågor: 08-123 456 78")):
        body = {"status": status} | ({"note": note} if note else {})
        changed = bus.request(
            "POST", f"/agency/v1/requests/{reference}/status", headers=key, json_body=body
        )
        assert changed.status == 200, changed.text
    (got,) = open_data.get(f"/open311/v2/requests/{reference}.json").json()
    assert got["status"] == "closed" and got["status_notes"] == "Lagat. Frågor: […]"
    assert open_data.get("/open311/v2/requests.json?status=open").json() == []
    bus.run_schedules(force=True)
    (row,) = open_data.get("/open-data/v1/stats.json").json()["rows"]
    assert (row["status"], row["suppressed"], row["count"]) == ("resolved", True, None)


def test_a_listing_shows_each_change_and_erasure_at_once_and_rereads_only_what_changed(
    open_data: PublicWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list is made from documents kept under each request's stamp (version, erasure):
    a change or an erasure shows in the very next read, and only that request is read again."""
    from functions.domain.requests.store import RequestStore

    kept = open_data.file("street-damage", description="Grop vid skolan")
    changed = open_data.file("street-damage", description="Trasig brunn")
    erased = open_data.file("street-damage", description="Sprucken asfalt")
    read: list[list[str]] = []
    get_many = RequestStore.get_many

    def spy(self: RequestStore, references: Any) -> Any:
        read.append(sorted(references))
        return get_many(self, references)

    monkeypatch.setattr(RequestStore, "get_many", spy)

    def listing() -> dict[str, dict[str, Any]]:
        response = open_data.get("/open311/v2/requests.json")
        assert response.status == 200, response.text
        return {r["service_request_id"]: r for r in response.json()}

    first = listing()
    assert first[erased]["description"] == "Sprucken asfalt"
    assert read == [sorted([kept, changed, erased])]
    assert listing() == first and len(read) == 1  # nothing changed: nothing read again

    move(changed, ("in_progress", datetime.now(UTC)), note="Vi lagar brunnen")
    store = RequestStore()
    record = store.get(erased)
    assert record is not None
    store.anonymise(erased, "erased", {}, record["history"], "2026-01-01T00:00:00Z")
    after = listing()
    assert read[1:] == [sorted([changed, erased])]
    assert after[changed]["status_notes"] == "Vi lagar brunnen"
    assert after[erased]["description"] is None and after[kept] == first[kept]
    by_id = open_data.get(f"/open311/v2/requests.json?service_request_id={changed}").json()
    assert by_id == [after[changed]]  # the same document as the single-request read makes

"""Input and limits (issue 14, findings 4, 5 and the Idempotency-Key half of 8).

Control characters are refused at intake on every channel and in agency notes, and stripped
from what the bus shows (Open311 JSON and XML, the agency view), so data stored before the
rule cannot break a feed. Open311 paging cannot read a whole window in one GET. An
``Idempotency-Key`` is at most 128 characters, and a key used again with another body is a
422 that shows nothing of the first request. A DynamoDB throttle that outlasts the SDK's
retries is a 503 with ``Retry-After`` (JSON, Open311 and TwiML routes), never a 500.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from citizenbus.local.phone import sms_params, twilio_request
from citizenbus.local.runtime import DEFAULT_OPEN311_KEY, LocalBus
from functions.domain.requests.intake import file_request
from functions.platform import aws
from schemas.request import Contact, NewRequest
from tests.support.bus import FORM, count_items, function_clients, move
from tests.support.faults import Clock, _aws_error
from tests.support.tokens import auth
from tests.support.twilio import ANNA, Call

STREETS = {"Authorization": "Bearer local-streets-key"}
APP_BODY = {"service_code": "street-damage", "attributes": {"address": "Storgatan 1"}}
CONTROL = "\u0001"


def _fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def _open311_post(
    bus: LocalBus, fields: dict[str, str], headers: dict[str, str] | None = None
) -> Any:
    body = urlencode({"api_key": DEFAULT_OPEN311_KEY} | fields)
    return bus.request(
        "POST", "/open311/v2/requests.json", headers=FORM | (headers or {}), body=body
    )


# -- control characters: refused at intake -----------------------------------------------------
@pytest.mark.parametrize("bad", ["\u0001", "\u001b[2J", "\u007f", "\u0085x", "\ufffe", "\uffff"])
def test_a_control_character_is_refused_on_the_json_channels_naming_the_field(
    bus: LocalBus, bad: str
) -> None:
    body = APP_BODY | {"description": f"Hål i {bad}gatan"}
    app = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=body)
    assert app.status == 400, app.text
    assert _fields(app) == ["description"]
    assert "control characters" in app.json()["errors"][0]["message"]

    form = {
        "attributes": {"address": f"Storgatan 1{bad}", "description": "Hål"},
        "contact": {"email": "kim@example.se"},
        "notify_by": "none",
    }
    eservice = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=form)
    assert eservice.status == 400, eservice.text
    assert _fields(eservice) == ["attributes.address"]
    assert count_items("requests") == 0 and count_items("outbox") == 0


def test_tab_newline_and_a_browsers_crlf_are_text_not_control_characters(bus: LocalBus) -> None:
    body = APP_BODY | {"description": "Två hål:\r\n1.\tvid busshållplatsen\n2.\tvid skolan"}
    app = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=body)
    assert app.status == 201, app.text
    reference = app.json()["reference"]
    agency = bus.request("GET", f"/agency/v1/requests/{reference}", headers=STREETS).json()
    assert (
        agency["attributes"]["description"] == "Två hål:\n1.\tvid busshållplatsen\n2.\tvid skolan"
    )


def test_a_control_character_in_an_open311_post_is_an_open311_error(bus: LocalBus) -> None:
    fields = {
        "service_code": "street-damage",
        "address_string": "Hamngatan 4",
        "attribute[description]": f"Trasig{CONTROL} kantsten",
    }
    posted = _open311_post(bus, fields)
    assert posted.status == 400, posted.text
    (error,) = posted.json()
    assert error["code"] == 400 and error["description"].startswith("description:")
    assert "control characters" in error["description"]
    assert count_items("requests") == 0


def test_a_control_character_in_a_text_gets_a_twiml_reply_naming_the_body(bus: LocalBus) -> None:
    params = sms_params(ANNA, f"HÅL Storgatan 1{CONTROL}")
    answer = twilio_request(bus, "/channels/sms", params)
    assert answer.status == 400
    reply = ET.fromstring(answer.body).findtext("Message") or ""
    assert reply.startswith("Body:") and "control characters" in reply
    assert count_items("requests") == 0


def test_a_spoken_answer_with_a_control_character_is_asked_again(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("2")  # English
    call.press("2")  # street damage: the address is spoken
    assert call.step == "answer"
    asked = call.said
    call.speak(f"Storgatan{CONTROL} 1")
    assert call.step == "answer" and not call.hung_up
    assert call.said.endswith(asked) and call.said != asked  # the error, then the same question
    assert count_items("requests") == 0


def test_an_agency_note_with_a_control_character_is_refused_and_changes_nothing(
    bus: LocalBus,
) -> None:
    filed = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=APP_BODY)
    reference = filed.json()["reference"]
    path = f"/agency/v1/requests/{reference}/status"
    body = {"status": "in_progress", "note": f"Lagas i vecka 12{CONTROL}"}
    refused = bus.request("POST", path, headers=STREETS, json_body=body)
    assert refused.status == 400, refused.text
    assert _fields(refused) == ["note"]
    after = bus.request("GET", f"/agency/v1/requests/{reference}", headers=STREETS).json()
    assert after["status"] == "received" and after["version"] == 1


# -- control characters: stripped on output (data stored before the rule) -----------------------
def _stored_with_control_characters(bus: LocalBus) -> str:
    """A request as an older bus stored it: intake did not refuse control characters then."""
    old = NewRequest.model_construct(
        service_code="street-damage",
        attributes={"address": "Storgatan\u0002 1", "description": "Hål\u0001 i\u000b gatan\ufffe"},
        description=None,
        contact=Contact(email="kim@example.se"),
        notify_by="none",
        language="sv",
        consent=False,
    )
    reference = file_request(old, channel="eservice").record["reference"]
    from datetime import UTC, datetime

    move(reference, ("in_progress", datetime.now(UTC)), note="Åtgärdas\u0007 snart")
    return reference


def test_requests_xml_is_well_formed_whatever_was_stored(bus: LocalBus) -> None:
    reference = _stored_with_control_characters(bus)
    for path in ("/open311/v2/requests.xml", f"/open311/v2/requests/{reference}.xml"):
        answer = bus.request("GET", path)
        assert answer.status == 200
        root = ET.fromstring(answer.body)  # today: "not well-formed (invalid token)"
        (request,) = root.iter("request")
        assert request.findtext("description") == "Hål i gatan"
        assert request.findtext("address") == "Storgatan"
    listed = bus.request("GET", "/open311/v2/requests.json").json()
    assert listed[0]["description"] == "Hål i gatan"
    assert listed[0]["status_notes"] == "Åtgärdas snart"


def test_the_agency_view_strips_control_characters_stored_before(bus: LocalBus) -> None:
    reference = _stored_with_control_characters(bus)
    view = bus.request("GET", f"/agency/v1/requests/{reference}", headers=STREETS).json()
    assert view["attributes"] == {"address": "Storgatan 1", "description": "Hål i gatan"}
    assert view["history"][-1]["note"] == "Åtgärdas snart"


# -- Open311 paging ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "query", ["page=11", "page=1000000", "page=101&page_size=100", "page=10001&page_size=1"]
)
def test_open311_paging_cannot_read_past_ten_thousand_records(
    bus: LocalBus, fmt: str, query: str
) -> None:
    answer = bus.request("GET", f"/open311/v2/requests.{fmt}?{query}")
    assert answer.status == 400, answer.text
    text = answer.json()[0]["description"] if fmt == "json" else answer.text
    assert "page × page_size may not exceed 10000" in text


def test_open311_paging_up_to_ten_thousand_records_is_answered(bus: LocalBus) -> None:
    for query in ("page=10", "page=100&page_size=100", "page=10000&page_size=1"):
        answer = bus.request("GET", f"/open311/v2/requests.json?{query}")
        assert answer.status == 200 and answer.json() == []


# -- Idempotency-Key ------------------------------------------------------------------------------
@pytest.mark.parametrize("length", [129, 3000])
def test_an_idempotency_key_over_128_characters_is_a_400_naming_it(
    bus: LocalBus, length: int
) -> None:
    key = {"Idempotency-Key": "k" * length}
    app = bus.request("POST", "/app/v1/requests", headers=auth() | key, json_body=APP_BODY)
    assert app.status == 400, app.text
    assert _fields(app) == ["Idempotency-Key"]
    form = {"attributes": {"address": "Storgatan 1"}, "email": "kim@example.se"}
    eservice = bus.request(
        "POST",
        "/eservice/v1/forms/street-damage",
        headers=key,
        json_body=form | {"notify_by": "none"},
    )
    assert eservice.status == 400, eservice.text
    assert _fields(eservice) == ["Idempotency-Key"]
    posted = _open311_post(bus, {"service_code": "street-damage", "address_string": "Gata 1"}, key)
    assert posted.status == 400, posted.text
    assert posted.json()[0]["description"].startswith("Idempotency-Key:")
    assert count_items("requests") == 0


def test_an_idempotency_key_of_128_characters_files_once(bus: LocalBus) -> None:
    key = {"Idempotency-Key": "k" * 128}
    first = bus.request("POST", "/app/v1/requests", headers=auth() | key, json_body=APP_BODY)
    again = bus.request("POST", "/app/v1/requests", headers=auth() | key, json_body=APP_BODY)
    assert (first.status, again.status) == (201, 200)
    assert first.json()["reference"] == again.json()["reference"]


def test_the_same_key_with_another_body_is_a_422_that_shows_nothing_of_the_first(
    bus: LocalBus,
) -> None:
    key = {"Idempotency-Key": "retry-1"}
    first = {
        "attributes": {"address": "Vegagatan 7", "description": "Hål vid port 3"},
        "email": "kim@example.se",
        "notify_by": "none",
    }
    other = first | {"attributes": {"address": "Storgatan 1", "description": "Annat"}}
    path = "/eservice/v1/forms/street-damage"
    filed = bus.request("POST", path, headers=key, json_body=first)
    assert filed.status == 201
    reference = filed.json()["reference"]
    reused = bus.request("POST", path, headers=key, json_body=other)
    assert reused.status == 422, reused.text
    assert _fields(reused) == ["Idempotency-Key"]
    for shown in (reference, "Vegagatan", "port 3"):
        assert shown not in reused.text
    retried = bus.request("POST", path, headers=key, json_body=first)
    assert retried.status == 200 and retried.json()["reference"] == reference
    assert count_items("requests") == 1

    app = bus.request("POST", "/app/v1/requests", headers=auth() | key, json_body=APP_BODY)
    assert app.status == 201
    changed = APP_BODY | {"description": "något annat"}
    app_reused = bus.request("POST", "/app/v1/requests", headers=auth() | key, json_body=changed)
    assert app_reused.status == 422 and app.json()["reference"] not in app_reused.text


def test_an_open311_key_reused_with_another_body_is_an_open311_422(bus: LocalBus) -> None:
    key = {"Idempotency-Key": "client-7"}
    fields = {"service_code": "street-damage", "address_string": "Vegagatan 7"}
    first = _open311_post(bus, fields, key)
    assert first.status == 201
    reference = first.json()[0]["service_request_id"]
    reused = _open311_post(bus, fields | {"address_string": "Storgatan 2"}, key)
    assert reused.status == 422, reused.text
    (error,) = reused.json()
    assert error["code"] == 422 and error["description"].startswith("Idempotency-Key:")
    assert reference not in reused.text
    assert _open311_post(bus, fields, key).json()[0]["service_request_id"] == reference


def test_a_browser_form_sent_again_after_an_edit_gets_a_fresh_submission_id(
    bus: LocalBus,
) -> None:
    form = {
        "address": "Vegagatan 7",
        "description": "Hål",
        "email": "kim@example.se",
        "notify_by": "none",
        "submission_id": "page-1",
    }
    browser = FORM | {"Accept": "text/html"}
    path = "/eservice/v1/forms/street-damage"
    sent = bus.request("POST", path, headers=browser, body=urlencode(form))
    assert sent.status == 303
    edited = bus.request(
        "POST", path, headers=browser, body=urlencode(form | {"description": "Två hål"})
    )
    assert edited.status == 400
    assert 'value="page-1"' not in edited.text and 'name="submission_id"' in edited.text
    assert count_items("requests") == 1


# -- a DynamoDB throttle that outlasts the retries -------------------------------------------------
@pytest.fixture
def throttled_dynamodb(bus: LocalBus, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every DynamoDB call throttled (more than any SDK retry budget), sleeps skipped."""
    Clock().install(monkeypatch)
    from moto.core.models import botocore_stubber

    clients = function_clients(bus, "dynamodb")
    calls: list[str] = []

    def always_throttled(request: Any, **kwargs: Any) -> Any:
        operation = kwargs["event_name"].rsplit(".", 1)[-1]
        calls.append(operation)
        if operation.startswith("Transact"):
            return _aws_error("ThrottlingException")
        return _aws_error("ProvisionedThroughputExceededException")

    for client in clients:
        client.meta.events.unregister("before-send", botocore_stubber)
        client.meta.events.register("before-send", always_throttled)
    yield calls
    for client in clients:
        client.meta.events.unregister("before-send", always_throttled)
        client.meta.events.register("before-send", botocore_stubber)


def test_a_throttle_past_the_retries_is_a_503_with_retry_after_on_json_routes(
    bus: LocalBus, throttled_dynamodb: list[str]
) -> None:
    answer = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=APP_BODY)
    assert answer.status == 503, answer.text
    assert answer.headers["Retry-After"] == "2"
    assert _fields(answer) == ["service"]
    assert len(throttled_dynamodb) > 1  # the SDK retried before giving up


def test_a_throttle_past_the_retries_is_an_open311_503(
    bus: LocalBus, throttled_dynamodb: list[str]
) -> None:
    for fmt in ("json", "xml"):
        answer = bus.request("GET", f"/open311/v2/requests.{fmt}")
        assert answer.status == 503, answer.text
        assert answer.headers["Retry-After"] == "2"
        if fmt == "json":
            assert answer.json()[0]["code"] == 503
        else:
            assert ET.fromstring(answer.body).findtext("error/code") == "503"


def test_a_throttle_past_the_retries_is_a_503_twilio_retries(
    bus: LocalBus, throttled_dynamodb: list[str]
) -> None:
    answer = twilio_request(bus, "/channels/sms", sms_params(ANNA, "HÅL Storgatan 1"))
    assert answer.status == 503, answer.text
    assert answer.headers["Retry-After"] == "2"
    assert ET.fromstring(answer.body).tag == "Response"


def test_a_cancelled_transaction_that_stays_throttled_is_a_503(
    bus: LocalBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttling inside a transaction (its cancellation reasons) past our own retries."""
    Clock().install(monkeypatch)
    from moto.core.models import botocore_stubber

    with bus.sandbox("app_api"):  # the function's own client
        client = aws.client("dynamodb")

    def cancelled(request: Any, **kwargs: Any) -> Any:
        if kwargs["event_name"].endswith("TransactWriteItems"):
            reasons = [{"Code": "ThrottlingError"}, {"Code": "None"}, {"Code": "None"}]
            body = json.dumps(
                {
                    "__type": "TransactionCanceledException",
                    "message": "Transaction cancelled",
                    "CancellationReasons": reasons,
                }
            )
            return _raw(400, body)
        return botocore_stubber(request=request, **kwargs)

    client.meta.events.unregister("before-send", botocore_stubber)
    client.meta.events.register("before-send", cancelled)
    try:
        answer = bus.request("POST", "/app/v1/requests", headers=auth(), json_body=APP_BODY)
    finally:
        client.meta.events.unregister("before-send", cancelled)
        client.meta.events.register("before-send", botocore_stubber)
    assert answer.status == 503, answer.text
    assert answer.headers["Retry-After"] == "2"


def _raw(status: int, body: str) -> Any:
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}
    return AWSResponse("https://fault.invalid/", status, headers, MockRawResponse(body))


def test_a_throttle_past_the_retries_is_a_503_on_the_status_look_up(
    bus: LocalBus, throttled_dynamodb: list[str]
) -> None:
    answer = bus.request(
        "POST",
        "/status",
        json_body={"reference": "1234567897", "contact": "0701234567"},
        headers={"Accept": "application/json"},
    )
    assert answer.status == 503, answer.text
    assert answer.headers["Retry-After"] == "2"

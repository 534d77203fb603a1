"""The web e-service pages, without a browser: labels, hints, errors, receipts, status."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import pytest

from citizenbus.local.runtime import HttpResponse, LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.domain.requests.store import RequestStore
from schemas.catalog import load_catalog
from tests.support.bus import count_items, nothing_stored
from tests.support.contacts import confirmed, last_code
from web.http import prefers_html

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
POST = {**BROWSER, "Content-Type": "application/x-www-form-urlencoded"}


class Page(HTMLParser):
    """Every element's attributes, and the text under each id, of one HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self.title = ""
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes))
        if tag not in ("input", "meta", "link", "br"):
            self._open.append((tag, attributes.get("id")))
            if attributes.get("id"):
                self.text_by_id[attributes["id"]] = ""
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        for _, element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += data

    def find(self, tag: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.elements
            if (tag is None or t == tag) and all(a.get(k) == v for k, v in attrs.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> dict[str, str]:
        found = self.find(tag, **attrs)
        assert len(found) == 1, (tag, attrs, found)
        return found[0]

    def text(self, element_id: str) -> str:
        return " ".join(self.text_by_id.get(element_id, "").split())


def get(bus: LocalBus, path: str) -> tuple[int, Page]:
    response = bus.request("GET", path, headers=BROWSER)
    return response.status, Page(response.text)


def post_form(
    bus: LocalBus, service: str, fields: dict[str, str], headers: dict[str, str] = POST
) -> HttpResponse:
    return bus.request(
        "POST", f"/eservice/v1/forms/{service}", headers=headers, body=urlencode(fields)
    )


def controls(page: Page) -> list[dict[str, str]]:
    return [
        a
        for t, a in page.elements
        if t in ("input", "textarea", "select") and a.get("type") != "hidden"
    ]


@pytest.mark.parametrize("language", ["sv", "en", "fi", "ar"])
def test_every_catalog_form_has_labelled_fields_with_the_servers_rules(
    bus: LocalBus, language: str
) -> None:
    prefix = "" if language == "sv" else f"/{language}"
    for service in load_catalog().services:
        status, page = get(bus, f"{prefix}/forms/{service.service_code}")
        assert status == 200
        assert page.one("html")["lang"] == language
        assert page.one("a", **{"class": "skip-link"})["href"] == "#main"
        assert page.find("main", id="main")
        form = page.one("form")
        assert form["action"] == f"/eservice/v1/forms/{service.service_code}"
        assert form["method"] == "post"
        for control in controls(page):
            assert page.find("label", **{"for": control["id"]}), control
            for described in control.get("aria-describedby", "").split():
                assert page.find(id=described), (control["id"], described)
        for attr in service.attributes:
            field = page.one(id=f"field-{attr.code}")
            assert field["name"] == attr.code
            assert field["maxlength"] == str(attr.max_length)
            assert ("required" in field) is attr.required
            assert page.text(f"field-{attr.code}-hint") == attr.description(language)
            if attr.pattern:
                assert f"^{field['pattern']}$" == attr.pattern
            if attr.input == "digits":
                assert field["inputmode"] == "numeric"
        assert page.one("input", id="field-phone")["type"] == "tel"
        assert page.one("input", id="field-email")["type"] == "email"
        assert page.one("input", id="field-notify_by-none").get("checked") is not None
        assert "checked" not in page.one("input", id="field-consent")  # explicit opt-in
        assert page.one("input", name="language")["value"] == language
        submission = page.one("input", name="submission_id")["value"]
        assert uuid.UUID(submission)
        _, again = get(bus, f"{prefix}/forms/{service.service_code}")
        assert again.one("input", name="submission_id")["value"] != submission


def test_the_start_page_lists_every_service_in_every_language(bus: LocalBus) -> None:
    catalog = load_catalog()
    prefixes = {"sv": "", "en": "/en", "fi": "/fi", "ar": "/ar"}
    for language, prefix in prefixes.items():
        status, page = get(bus, prefix or "/")
        assert status == 200 and page.one("html")["lang"] == language
        assert page.one("html")["dir"] == ("rtl" if language == "ar" else "ltr")
        switches = {a["hreflang"]: a["href"] for a in page.find("a") if a.get("hreflang")}
        assert switches == {k: v or "/" for k, v in prefixes.items() if k != language}
        for service in catalog.services:
            assert page.find("a", href=f"{prefix}/forms/{service.service_code}")
        assert page.find("a", href=f"{prefix}/status")
        assert catalog.services[0].name(language) in page.text("main")
    assert get(bus, "/xx")[0] == 404 and get(bus, "/sv")[0] == 404


def test_a_browser_post_is_sent_to_a_receipt_and_reaches_the_agency_queue(bus: LocalBus) -> None:
    response = post_form(
        bus,
        "street-damage",
        {
            "address": "Storgatan 1",
            "description": "Ett djupt hål",
            "phone": "070-123 45 67",
            "notify_by": "sms",
            "consent": "on",
            "language": "sv",
            "submission_id": str(uuid.uuid4()),
        },
    )
    assert response.status == 303
    location = response.headers["Location"]
    match = re.fullmatch(r"/receipt/(\d{10})\?service=street-damage", location)
    assert match, location
    reference = match.group(1)
    status, page = get(bus, location)
    assert status == 200
    assert page.text("reference") == reference
    assert "Gatukontoret" in page.text("main")
    bus.pump()
    queued = bus.queue_messages(agency_queue("streets"))
    assert [m["detail"]["data"]["channel"] for m in queued] == ["eservice"]
    assert queued[0]["detail"]["subject"] == reference
    assert "070" not in str(queued) and "+4670" not in str(queued)


def test_api_clients_still_get_json(bus: LocalBus) -> None:
    fields = {"address": "Storgatan 1", "email": "anna@example.se"}
    for headers in (
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"},
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    ):
        response = post_form(bus, "street-damage", fields, headers=headers)
        assert response.status == 201, response.text
        assert response.json()["status"] == "received"


def test_a_double_submit_files_once_and_shows_the_same_receipt(bus: LocalBus) -> None:
    fields = {"address": "Sopvägen 2", "email": "anna@example.se", "submission_id": "s-1"}
    first = post_form(bus, "missed-waste-collection", fields)
    second = post_form(bus, "missed-waste-collection", fields)
    assert first.status == second.status == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count_items("requests") == 1


def test_errors_are_drawn_next_to_their_fields_and_nothing_is_stored(bus: LocalBus) -> None:
    submission = str(uuid.uuid4())
    response = post_form(
        bus,
        "tax-return-approve",
        {
            "personal_code": "1234567",
            "email": "not-an-email",
            "notify_by": "email",
            "language": "en",
            "submission_id": submission,
        },
    )
    assert response.status == 400
    assert response.headers["Content-Type"].startswith("text/html")
    page = Page(response.text)
    assert page.title.startswith("Error: ")
    summary = page.one("div", id="error-summary")
    assert summary["role"] == "alert" and summary["tabindex"] == "-1"
    links = [a["href"] for a in page.find("a") if a.get("href", "").startswith("#field-")]
    # Every error at once, in page order: the model's, the catalog's and the missing consent.
    assert links == ["#field-personal_code", "#field-email", "#field-consent"]
    for name, message in (
        ("personal_code", "The personal code must be exactly 8 digits."),
        ("email", "Enter a valid e-mail address, for example name@example.com."),
    ):
        field = page.one(id=f"field-{name}")
        assert field["aria-invalid"] == "true"
        assert f"field-{name}-error" in field["aria-describedby"].split()
        assert page.text(f"field-{name}-error") == f"Error: {message}"
    # What was typed comes back, and the same submission id, so a later double submit dedups.
    assert page.one(id="field-personal_code")["value"] == "1234567"
    assert page.one("input", name="submission_id")["value"] == submission
    assert page.one("input", id="field-notify_by-email").get("checked") is not None
    assert nothing_stored()


def test_notifications_need_the_consent_box(bus: LocalBus) -> None:
    response = post_form(
        bus,
        "street-damage",
        {"address": "Storgatan 1", "phone": "0701234567", "notify_by": "sms", "language": "sv"},
    )
    assert response.status == 400
    page = Page(response.text)
    assert page.one("input", id="field-consent")["aria-invalid"] == "true"
    assert "Kryssa i rutan" in page.text("field-consent-error")
    assert page.one("html")["lang"] == "sv"
    assert nothing_stored()
    # Without notifications no consent is needed.
    ok = post_form(
        bus,
        "street-damage",
        {"address": "Storgatan 1", "phone": "0701234567", "notify_by": "none", "language": "sv"},
    )
    assert ok.status == 303


def test_intake_errors_land_on_their_fields(bus: LocalBus) -> None:
    response = post_form(bus, "street-damage", {"address": "x", "language": "sv"})
    page = Page(response.text)
    assert response.status == 400
    assert page.text("field-address-error") == "Fel: Skriv en gatuadress (3 till 200 tecken)."
    assert nothing_stored()
    response = post_form(bus, "street-damage", {"address": "Storgatan 1", "language": "sv"})
    page = Page(response.text)
    assert page.text("field-phone-error") == "Fel: Ange ett telefonnummer eller en e-postadress."


def test_what_was_typed_is_escaped(bus: LocalBus) -> None:
    response = post_form(bus, "street-damage", {"address": '<script>alert("x")</script>'})
    assert response.status == 400
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;" in response.text


def file(bus: LocalBus, **fields: str) -> str:
    response = post_form(bus, "street-damage", {"address": "Storgatan 1", **fields})
    assert response.status == 303, response.text
    return response.headers["Location"].split("/")[-1].split("?")[0]


def look_up(bus: LocalBus, reference: str, contact: str, path: str = "/status") -> HttpResponse:
    return bus.request(
        "POST", path, headers=POST, body=urlencode({"reference": reference, "contact": contact})
    )


def test_the_status_page_shows_the_history_to_the_right_contact(bus: LocalBus) -> None:
    reference = file(bus, phone="0701234567")
    store = RequestStore()
    store.update(
        reference,
        1,
        {"status": "in_progress"},
        {
            "status": "in_progress",
            "at": "2026-11-23T09:00:00Z",
            "by": "agency:streets",
            "note": "Vi lagar hålet på tisdag.",
        },
        None,
    )
    response = look_up(bus, reference[:3] + " " + reference[3:], "+46 70 123 45 67")
    assert response.status == 200
    page = Page(response.text)
    assert page.text("status") == "Handläggs"
    assert "Mottaget" in page.text("main")
    # The status and its dates only: the note and the address follow with a one-time code.
    assert "Vi lagar hålet på tisdag." not in page.text("main")
    assert "Storgatan 1" not in page.text("main")
    confirmed(phone="+46701234567")
    asked = look_up(bus, reference, "+46 70 123 45 67", "/status/code")
    assert asked.status == 202
    bus.pump()
    fields = {"reference": reference, "contact": "+46 70 123 45 67", "code": last_code(bus)}
    full = bus.request("POST", "/status", headers=POST, body=urlencode(fields))
    assert full.status == 200
    assert "Vi lagar hålet på tisdag." in Page(full.text).text("main")
    assert "Storgatan 1" in Page(full.text).text("main")
    english = Page(look_up(bus, reference, "070-1234567", "/en/status").text)
    assert (
        english.text("status") == "Being handled"
    )  # the same words as SMS, voice and notifications
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_contact_and_unknown_reference_get_the_same_answer(bus: LocalBus) -> None:
    reference = file(bus, email="Anna@Example.se")
    assert look_up(bus, reference, "anna@example.se").status == 200
    wrong = look_up(bus, reference, "bertil@example.se")
    other = "1234567897" if reference != "1234567897" else "1111111116"
    unknown = look_up(bus, other, "bertil@example.se")
    assert wrong.status == unknown.status == 404
    strip = lambda html: html.replace(reference, "").replace(other, "")  # noqa: E731
    assert strip(wrong.text) == strip(unknown.text)
    assert look_up(bus, reference, "0701234567").status == 404


def test_a_request_not_found_is_said_once_on_the_page(bus: LocalBus) -> None:
    """One error summary per page: the not-found box, not a second summary beside it (two
    elements with one id confuse screen readers and the page's own focus script)."""
    reference = file(bus, email="anna@example.se")
    response = look_up(bus, reference, "nobody@example.se")
    assert response.status == 404
    page = Page(response.text)
    summary = page.one("div", id="error-summary")
    assert summary["role"] == "alert"
    assert "nobody@example.se" not in page.text("error-summary")


def test_status_look_up_errors_and_json(bus: LocalBus) -> None:
    response = look_up(bus, "", "")
    page = Page(response.text)
    assert response.status == 400
    assert page.one(id="field-reference")["aria-invalid"] == "true"
    assert page.one(id="field-contact")["aria-invalid"] == "true"
    reference = file(bus, email="anna@example.se")
    api = bus.request(
        "POST", "/status", json_body={"reference": reference, "contact": "anna@example.se"}
    )
    assert api.status == 200 and api.json()["history"][0]["status"] == "received"
    assert "contact" not in api.json()
    missing = bus.request("POST", "/status", json_body={"reference": reference})
    assert missing.status == 400 and missing.json()["errors"][0]["field"] == "contact"


def test_unknown_pages_and_bad_receipts_are_404_pages(bus: LocalBus) -> None:
    for path in (
        "/forms/no-such-service",
        "/receipt/123?service=street-damage",
        "/receipt/1234567897?service=nope",
        "/static/secrets.txt",
    ):
        response = bus.request("GET", path, headers=BROWSER)
        assert response.status == 404, path
        assert response.headers["Content-Type"].startswith("text/html")
    response = post_form(bus, "no-such-service", {"address": "Storgatan 1"})
    assert response.status == 404 and nothing_stored()


def test_assets_are_served_and_versioned(bus: LocalBus) -> None:
    _, page = get(bus, "/")
    css = page.one("link", rel="stylesheet")["href"]
    script = page.one("script")["src"]
    for url, kind in ((css, "text/css"), (script, "text/javascript")):
        assert re.fullmatch(r"/static/site\.(css|js)\?v=[0-9a-f]{10}", url)
        response = bus.request("GET", url)
        assert response.status == 200 and response.headers["Content-Type"].startswith(kind)
        assert "immutable" in response.headers["Cache-Control"]


def test_pages_forbid_inline_script(bus: LocalBus) -> None:
    response = bus.request("GET", "/", headers=BROWSER)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in response.text


def test_the_static_build_writes_a_plain_folder(tmp_path: Path) -> None:
    from web.build import build

    written = build(tmp_path / "dist")
    names = {p.relative_to(tmp_path / "dist").as_posix() for p in written}
    for service in load_catalog().services:
        assert f"forms/{service.service_code}/index.html" in names
        assert f"en/forms/{service.service_code}/index.html" in names
    assert {"index.html", "en/index.html", "status/index.html", "static/site.css"} <= names
    page = Page((tmp_path / "dist/en/forms/street-damage/index.html").read_text())
    assert page.one("input", name="submission_id")["value"] == ""  # filled in by the script
    assert page.one("html")["lang"] == "en"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("*/*", False),
        (None, False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0", False),
    ],
)
def test_who_counts_as_a_browser(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_the_page_functions_import_lightly() -> None:
    """Cold start: the page function and the e-service load Jinja2, boto3 and phonenumbers
    only when a request needs them."""
    import subprocess
    import sys

    code = (
        "import sys, functions.web.handler, functions.eservice.handler; "
        "print(sorted(m for m in ('jinja2', 'boto3', 'phonenumbers', 'twilio') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_sample_status_look_up_event(bus: LocalBus) -> None:
    """A browser's status look-up as API Gateway delivers it (form body base64-encoded)."""
    import base64

    from tests.support.bus import load_event

    event = load_event("apigw/web_status_lookup.json")
    missing = bus.invoke("web", event)
    assert missing["statusCode"] == 404
    assert "We found no request" in missing["body"]
    reference = file(bus, phone="070-123 45 67")
    body = base64.b64decode(event["body"]).decode().replace("1754800504", reference)
    event["body"] = base64.b64encode(body.encode()).decode()
    found = bus.invoke("web", event)
    assert found["statusCode"] == 200
    assert found["headers"]["Content-Type"].startswith("text/html")
    assert "Being handled" not in found["body"] and "Received" in found["body"]


def test_an_unreadable_status_look_up_gets_its_form_back(bus: LocalBus) -> None:
    response = bus.request(
        "POST", "/status", headers={**BROWSER, "Content-Type": "text/plain"}, body="hello"
    )
    assert response.status == 415
    page = Page(response.text)
    assert page.one(id="field-reference")["aria-invalid"] == "true"
    api = bus.request("POST", "/status", headers={"Content-Type": "text/plain"}, body="hello")
    assert api.status == 415 and api.json()["errors"][0]["field"] == "content-type"

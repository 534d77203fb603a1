"""The trust rules, one by one, at the level where they are decided.

Fast unit tests (no bus) of consent (who hears what), suppression (which aggregate cells are
published), privacy (what of a request is public), the lifecycle (which moves an agency may
make), erasure (whose data goes) and the status look-up (who may read a request). Each one
asserts what a citizen would notice if the rule went missing; ``make mutate``
(``tests/mutation.toml``) checks that no rule can be removed without one of them failing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from citizenbus.local.runtime import LocalBus
from functions.domain.citizens import contacts
from functions.domain.citizens.erasure import InvalidSubject, public_attributes, subject_ids
from functions.domain.citizens.identity import pseudonym
from functions.domain.citizens.store import CitizenStore
from functions.domain.open_data import privacy
from functions.domain.open_data.stats import compute
from functions.notifier.logic import Confirm, Message, Skip, plan
from functions.platform import process
from functions.platform.dedup_store import DedupStore
from functions.web.lookup import clean_reference, contact_matches, find_request
from schemas.catalog import load_catalog
from schemas.event_types import SLA_BREACHED, STATUS_CHANGED, SUBMITTED
from schemas.lifecycle import BY_CITIZEN_ONLY, CLOSED, TRANSITIONS, Status, can_transition


@pytest.fixture(autouse=True)
def _local_settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    """These rules run without AWS: the local bus's settings (its pseudonym key) stand in."""
    monkeypatch.setenv("CITIZENBUS_LOCAL", "1")
    for arn in ("PSEUDONYM_KEY_SECRET_ARN", "AGENCY_KEYS_SECRET_ARN"):
        monkeypatch.delenv(arn, raising=False)
    process.reset()
    yield
    process.reset()


PHONE = "+46701234567"
OTHER_PHONE = "+46709876543"
MAIL = "anna.andersson@example.se"
APP_CITIZEN = "cit_appuser0000000000000000"


class FakeCitizens:
    """The consent ledger, preferences and confirmed contacts, in memory.

    ``ledger[(citizen, channel)]``; ``unconfirmed`` names the contact ids not yet confirmed
    (every other contact is confirmed, so the consent rules are tested on their own)."""

    def __init__(
        self,
        ledger: dict[tuple[str, str], bool] | None = None,
        prefs: dict[str, dict[str, Any]] | None = None,
        unconfirmed: set[str] | None = None,
    ) -> None:
        self.ledger = ledger or {}
        self.prefs = prefs or {}
        self.unconfirmed = unconfirmed or set()

    def is_confirmed(self, contact: str) -> bool:
        return contact not in self.unconfirmed

    def consent(self, citizen: str, channel: str) -> bool | None:
        return self.ledger.get((citizen, channel))

    def preferences(self, citizen: str) -> dict[str, Any]:
        return dict(self.prefs.get(citizen, {}))


def request(**changes: Any) -> Any:
    record: dict[str, Any] = {
        "reference": "100000009",
        "service_code": "street-damage",
        "agency": "streets",
        "channel": "app",
        "status": "received",
        "citizen": APP_CITIZEN,
        "attributes": {},
        "contact": {"phone": PHONE},
        "language": "sv",
        "notify_by": "sms",
        "submitted_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-01T10:00:00Z",
        "expected_at": "2026-03-08T10:00:00Z",
        "history": [],
        "version": 1,
    }
    record.update(changes)
    return record


def changed(status: str = "in_progress", note: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"status": status}
    if note is not None:
        data["note"] = note
    return {"type": STATUS_CHANGED, "data": data}


SUBMITTED_EVENT: dict[str, Any] = {"type": SUBMITTED, "data": {}}


# -- consent: functions/notifier/logic.py ---------------------------------------------------


@pytest.mark.parametrize("channel", ["app", "eservice", "open311", "voice"])
def test_a_stop_texted_from_a_number_silences_every_request_that_notifies_it(channel: str) -> None:
    """Anna texted STOP from her phone; a request filed in the app (or on the web, or by a
    call) that notifies that number by SMS gets no text, whatever its own consent says."""
    citizens = FakeCitizens({(pseudonym("phone", PHONE), "sms"): False})
    record = request(channel=channel, consent=True)
    assert plan(changed(), record, citizens) == Skip("no consent")
    # the same request notifying another number is not silenced by Anna's STOP
    other = request(channel=channel, consent=True, contact={"phone": OTHER_PHONE})
    assert isinstance(plan(changed(), other, citizens), Message)


@pytest.mark.parametrize("channel", ["eservice", "open311", "app"])
def test_a_typed_contact_gets_only_a_confirmation_until_confirmed(channel: str) -> None:
    """A number typed in a form is asked to confirm; nothing else reaches it until it is."""
    cid = pseudonym("phone", PHONE)
    record = request(channel=channel, consent=True)
    asked = plan(changed(), record, FakeCitizens(unconfirmed={cid}))
    assert isinstance(asked, Confirm) and asked.to == PHONE and asked.contact == cid
    assert isinstance(plan(changed(), record, FakeCitizens()), Message)


def test_the_number_that_texted_in_needs_no_confirmation() -> None:
    cid = pseudonym("phone", PHONE)
    record = request(channel="sms", consent=False)
    assert isinstance(plan(changed(), record, FakeCitizens(unconfirmed={cid})), Message)


def test_a_stop_silences_a_number_given_in_the_app_preferences() -> None:
    citizens = FakeCitizens(
        {(pseudonym("phone", PHONE), "sms"): False},
        {APP_CITIZEN: {"notify_by": "sms", "phone": PHONE, "consent": True}},
    )
    record = request(contact={}, notify_by="none")
    assert plan(changed(), record, citizens) == Skip("no consent")


def test_a_stop_by_sms_does_not_silence_e_mail() -> None:
    citizens = FakeCitizens({(pseudonym("phone", PHONE), "sms"): False})
    record = request(contact={"phone": PHONE, "email": MAIL}, notify_by="email", consent=True)
    message = plan(changed(), record, citizens)
    assert isinstance(message, Message) and message.to == MAIL and message.channel == "email"


def test_a_later_opt_in_by_the_citizen_overrides_nothing_a_number_stopped() -> None:
    """The app account opted in, but the number itself said STOP: no text."""
    citizens = FakeCitizens({(APP_CITIZEN, "sms"): True, (pseudonym("phone", PHONE), "sms"): False})
    assert plan(changed(), request(), citizens) == Skip("no consent")


def test_an_opt_out_in_the_ledger_beats_the_requests_own_consent() -> None:
    citizens = FakeCitizens({(APP_CITIZEN, "sms"): False})
    assert plan(changed(), request(consent=True), citizens) == Skip("no consent")


def test_an_opt_in_in_the_ledger_is_consent() -> None:
    citizens = FakeCitizens({(APP_CITIZEN, "sms"): True})
    message = plan(changed(), request(), citizens)
    assert isinstance(message, Message) and message.to == PHONE


def test_no_consent_no_message() -> None:
    """A web form filed without ticking consent: nothing is sent, on any channel."""
    for channel in ("app", "eservice", "open311"):
        record = request(channel=channel, consent=False)
        assert plan(changed(), record, FakeCitizens()) == Skip("no consent")
    record = request(channel="app")
    assert plan(changed(), record, FakeCitizens()) == Skip("no consent")


@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_texting_or_calling_in_is_consent_to_an_sms_answer(channel: str) -> None:
    message = plan(changed(), request(channel=channel), FakeCitizens())
    assert isinstance(message, Message) and message.channel == "sms" and message.to == PHONE


def test_calling_in_is_no_consent_to_e_mail() -> None:
    record = request(channel="voice", notify_by="email", contact={"email": MAIL})
    assert plan(changed(), record, FakeCitizens()) == Skip("no consent")


def test_consent_saved_in_the_preferences_counts() -> None:
    citizens = FakeCitizens({}, {APP_CITIZEN: {"consent": True}})
    message = plan(changed(), request(), citizens)
    assert isinstance(message, Message) and message.to == PHONE


def test_the_preferences_choose_channel_address_and_language() -> None:
    citizens = FakeCitizens(
        {}, {APP_CITIZEN: {"notify_by": "email", "email": MAIL, "language": "en"}}
    )
    message = plan(changed(), request(consent=True), citizens)
    assert isinstance(message, Message)
    assert (message.channel, message.to, message.kind) == (
        "email",
        MAIL,
        "status_changed.in_progress",
    )
    assert "Demo Municipality" in message.subject + message.body or "street" in message.body.lower()


def test_an_empty_preference_does_not_replace_the_requests_address() -> None:
    citizens = FakeCitizens({}, {APP_CITIZEN: {"phone": "", "email": None}})
    message = plan(changed(), request(consent=True), citizens)
    assert isinstance(message, Message) and message.to == PHONE


def test_a_saved_address_replaces_the_requests_address() -> None:
    citizens = FakeCitizens({}, {APP_CITIZEN: {"phone": OTHER_PHONE}})
    message = plan(changed(), request(consent=True), citizens)
    assert isinstance(message, Message) and message.to == OTHER_PHONE


def test_the_push_address_comes_from_the_preferences() -> None:
    citizens = FakeCitizens({}, {APP_CITIZEN: {"notify_by": "push", "push_endpoint": "ep-1"}})
    message = plan(changed(), request(consent=True), citizens)
    assert isinstance(message, Message) and (message.channel, message.to) == ("push", "ep-1")


def test_none_means_no_notifications() -> None:
    assert plan(changed(), request(notify_by="none", consent=True), FakeCitizens()) == Skip(
        "the citizen asked for no notifications"
    )
    assert plan(changed(), request(notify_by=None, consent=True), FakeCitizens()) == Skip(
        "the citizen asked for no notifications"
    )
    citizens = FakeCitizens({}, {APP_CITIZEN: {"notify_by": "none"}})
    assert plan(changed(), request(consent=True), citizens) == Skip(
        "the citizen asked for no notifications"
    )


def test_no_address_for_the_channel_no_message() -> None:
    record = request(notify_by="email", consent=True)  # only a phone number was given
    assert plan(changed(), record, FakeCitizens()) == Skip("no email address")


def test_a_receipt_only_where_the_channel_did_not_answer_at_once() -> None:
    for channel in ("sms", "voice", "app"):
        record = request(channel=channel, consent=True)
        assert plan(SUBMITTED_EVENT, record, FakeCitizens()) == Skip("the channel answered at once")
    for channel in ("eservice", "open311"):
        message = plan(SUBMITTED_EVENT, request(channel=channel, consent=True), FakeCitizens())
        assert isinstance(message, Message) and message.kind == "submitted"


def test_events_without_a_template_send_nothing() -> None:
    assert plan(changed("received"), request(consent=True), FakeCitizens()) == Skip(
        "no template for this event"
    )
    assert plan({"type": "other", "data": {}}, request(consent=True), FakeCitizens()) == Skip(
        "no template for this event"
    )
    late = plan({"type": SLA_BREACHED, "data": {}}, request(consent=True), FakeCitizens())
    assert isinstance(late, Message) and late.kind == "sla_breached"


def test_the_agencys_note_is_in_the_text_in_the_citizens_language() -> None:
    message = plan(
        changed("needs_info", note="Which lamp post?"),
        request(consent=True, language="en"),
        FakeCitizens(),
    )
    assert isinstance(message, Message) and "Which lamp post?" in message.body
    assert "100000009" in message.body + message.subject
    bare = plan(changed("needs_info"), request(consent=True, language="en"), FakeCitizens())
    assert isinstance(bare, Message) and bare.body != message.body


# -- suppression: functions/domain/open_data/stats.py -----------------------------------------

NOW = datetime(2026, 3, 10, tzinfo=UTC)


def cell(n: int, **changes: Any) -> list[Any]:
    return [request(reference=f"1{i:07d}", **changes) for i in range(n)]


@pytest.mark.parametrize("threshold", [2, 3, 5, 10])
def test_a_cell_one_below_the_threshold_is_withheld_and_one_at_it_published(
    threshold: int,
) -> None:
    """With threshold k, a day/service/channel/status with k-1 requests shows no count and no
    measure (only that it is suppressed); one with k requests shows its count."""
    below = cell(threshold - 1, channel="app")
    at = cell(threshold, channel="eservice")
    stats = compute([*below, *at], NOW - timedelta(days=30), NOW, threshold, NOW)
    rows = {row.channel: row for row in stats.rows}
    withheld, published = rows["app"], rows["eservice"]
    assert withheld.suppressed is True
    assert withheld.count is None and withheld.sla_breach_rate is None
    assert withheld.median_resolution_hours is None and withheld.p90_resolution_hours is None
    assert published.suppressed is False and published.count == threshold
    assert stats.suppression_threshold == threshold


def test_a_single_request_is_never_published_under_the_default_threshold() -> None:
    (row,) = compute(cell(1), NOW - timedelta(days=30), NOW, 3, NOW).rows
    assert row.suppressed and row.count is None
    assert (row.date, row.service_code, row.channel, row.status) == (
        "2026-03-01",
        "street-damage",
        "app",
        "received",
    )


def test_cells_are_split_by_day_service_channel_and_status() -> None:
    records = [
        *cell(2),
        *cell(2, submitted_at="2026-03-02T10:00:00Z"),
        *cell(2, service_code="missed-waste-collection"),
        *cell(2, channel="sms"),
        *cell(2, status="in_progress"),
    ]
    stats = compute(records, NOW - timedelta(days=30), NOW, 2, NOW)
    assert [row.count for row in stats.rows] == [2] * 5
    assert len({(r.date, r.service_code, r.channel, r.status) for r in stats.rows}) == 5
    assert stats.rows == sorted(
        stats.rows, key=lambda r: (r.date, r.service_code, r.channel, r.status)
    )
    assert (stats.start_date, stats.end_date) == ("2026-02-08", "2026-03-10")
    assert stats.generated_at.startswith("2026-03-10T00:00:00")


def test_the_measures_of_a_published_cell() -> None:
    """Two resolved in 6 and 30 hours (one of them late), one still open and late."""

    def closed(hours: int, expected: str) -> Any:
        at = (datetime(2026, 3, 1, 10, tzinfo=UTC) + timedelta(hours=hours)).isoformat()
        return request(
            status="resolved",
            expected_at=expected,
            history=[
                {"status": "received", "at": "2026-03-01T10:00:00Z"},
                {"status": "resolved", "at": at.replace("+00:00", "Z")},
            ],
        )

    records = [
        closed(6, "2026-03-02T10:00:00Z"),
        closed(30, "2026-03-02T10:00:00Z"),
        closed(10, "2026-03-01T12:00:00Z"),
    ]
    (row,) = compute(records, NOW - timedelta(days=30), NOW, 3, NOW).rows
    assert row.count == 3 and row.median_resolution_hours == 10.0
    assert row.p90_resolution_hours == 26.0
    assert row.sla_breach_rate == round(2 / 3, 3)
    open_late = compute(cell(3), NOW - timedelta(days=30), NOW, 3, NOW).rows[0]
    assert open_late.median_resolution_hours is None and open_late.p90_resolution_hours is None
    assert open_late.sla_breach_rate == 1.0
    on_time = compute(
        cell(3),
        NOW - timedelta(days=30),
        datetime(2026, 3, 5, tzinfo=UTC),
        3,
        datetime(2026, 3, 5, tzinfo=UTC),
    ).rows[0]
    assert on_time.sla_breach_rate == 0.0


# -- privacy: functions/domain/open_data/privacy.py -------------------------------------------


@pytest.mark.parametrize(
    ("address", "street"),
    [
        ("Storgatan 12B, lgh 1102", "Storgatan"),
        ("12 Main Street", "Main Street"),
        ("Storgatan 12 B", "Storgatan"),
        ("Stora Nygatan, 111 29 Stockholm", "Stora Nygatan"),
        ("Storgatan lgh 1102", "Storgatan"),
        ("Storgatan Lgh. 1102", "Storgatan"),
        ("Storgatan #4", "Storgatan"),
        ("#4 Storgatan", "Storgatan"),
        ("Storgatan; port 2", "Storgatan"),
        ("Storgatan\n2 tr", "Storgatan"),
        ("Storgatan 3 tr", "Storgatan"),
        ("Flat 4 Baker Street", None),
        ("Storgatan c/o Andersson", "Storgatan"),
        ("Storgatan B", "Storgatan"),
        ("B Storgatan", "B Storgatan"),
        ("  - Storgatan .", "Storgatan"),
        ("anna@example.se", None),
        ("12", None),
        ("", None),
        (None, None),
    ],
)
def test_only_the_street_of_an_address_is_published(
    address: str | None, street: str | None
) -> None:
    assert privacy.street_only(address) == street


@pytest.mark.parametrize(
    ("text", "published"),
    [
        ("Ring 070-123 45 67 om ni undrar", "Ring [\u2026] om ni undrar"),
        ("call +46 70 123 45 67 please", "call [\u2026] please"),
        ("call 0046701234567", "call [\u2026]"),
        ("mejla anna.b+x@example.co.uk nu", "mejla [\u2026] nu"),
        ("pnr 19850101-1234 och 850101+1234", "pnr [\u2026] och [\u2026]"),
        ("kod 12345678 här", "kod [\u2026] här"),
        ("kod 1234567 här", "kod [\u2026] här"),
        ("hus 12, 3 tr, 2024", "hus 12, 3 tr, 2024"),
        ("lampa 1-2-3", "lampa 1-2-3"),
        ("   ", ""),
    ],
)
def test_scrub_removes_contact_details_but_keeps_short_numbers(text: str, published: str) -> None:
    assert privacy.scrub(text) == published


def test_scrub_removes_the_filers_own_values_in_any_spacing() -> None:
    known = (PHONE, MAIL, "Andersson", "ab")
    text = "Anna ANDERSSON, 0701-23 45 67, 7012 34567, anna.andersson@example.se, ab"
    assert privacy.scrub(text, known) == "Anna [\u2026], [\u2026], [\u2026], [\u2026], ab"
    # the longest value first: a value inside another is not left half-removed
    assert privacy.scrub("Anna-Karin Berg", ("Anna", "Anna-Karin")) == "[\u2026] Berg"
    assert privacy.scrub("x (abc) y", ("a(b)c",)) == "x ([\u2026]) y"


def test_known_personal_values_are_contact_and_personal_attributes() -> None:
    record = request(
        contact={"phone": PHONE, "email": MAIL, "verified": True},
        personal={"personal_code": 12345678},
    )
    assert sorted(privacy.known_personal_values(record)) == sorted([PHONE, MAIL, "12345678"])
    assert privacy.known_personal_values(request(contact=None)) == ()


CATALOG = load_catalog()
STREETS = CATALOG.service("street-damage")
WASTE = CATALOG.service("missed-waste-collection")
TAX = CATALOG.service("tax-return-approve")


def test_public_text_only_for_services_that_publish_it_and_scrubbed() -> None:
    assert STREETS is not None and WASTE is not None and TAX is not None
    record = request(contact={"phone": PHONE})
    assert privacy.public_text(STREETS, "Hål, ring 0701234567", record) == "Hål, ring [\u2026]"
    assert privacy.public_text(WASTE, "Hål i gatan", record) is None
    assert privacy.public_text(STREETS, "", record) is None
    assert privacy.public_text(STREETS, None, record) is None
    assert privacy.public_text(STREETS, "  \n ", record) is None  # nothing left


def test_public_address_is_the_street_of_a_non_personal_location() -> None:
    assert STREETS is not None and TAX is not None
    record = request(attributes={"address": "Storgatan 12B, lgh 1102"})
    assert privacy.public_address(STREETS, record) == "Storgatan"
    assert privacy.public_address(STREETS, request(attributes={"address": "12"})) is None
    assert privacy.public_address(STREETS, request(attributes={})) is None
    assert privacy.public_address(STREETS, request(attributes=None)) is None
    # a street that is the filer's own name is scrubbed away
    named = request(
        attributes={"address": "Andersson Street 4"}, personal={"n": "Andersson Street"}
    )
    assert privacy.public_address(STREETS, named) == "[\u2026]"
    assert privacy.public_address(TAX, request(attributes={"personal_code": "Storgatan 1"})) is None


def test_public_description_never_reads_a_personal_attribute() -> None:
    assert STREETS is not None and WASTE is not None
    record = request(attributes={"description": "Hål vid 0701234567"}, description="annat")
    assert privacy.public_description(STREETS, record) == "Hål vid [\u2026]"
    fallback = request(attributes={}, description="Stort hål")
    assert privacy.public_description(STREETS, fallback) == "Stort hål"
    assert privacy.public_description(WASTE, fallback) is None


# -- lifecycle: schemas/lifecycle.py ---------------------------------------------------------

ALLOWED = {
    ("received", "in_progress"),
    ("in_progress", "needs_info"),
    ("in_progress", "resolved"),
    ("in_progress", "rejected"),
    ("needs_info", "in_progress"),
    ("needs_info", "resolved"),
    ("needs_info", "rejected"),
    ("resolved", "reopened"),  # the citizen's (issue 18); an agency asking for it gets 409
    ("reopened", "in_progress"),
}


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("new", list(Status))
def test_the_lifecycle_allows_exactly_these_moves(current: Status, new: Status) -> None:
    assert can_transition(current, new) is ((current.value, new.value) in ALLOWED)


def test_closed_statuses_are_final_and_closed_in_open311() -> None:
    assert {s.value for s in CLOSED} == {"resolved", "rejected"}
    for status in Status:
        assert status.closed is (status in CLOSED)
        assert status.open311 == ("closed" if status in CLOSED else "open")
        if status.closed:  # only the citizen moves a closed request (reopens a resolved one)
            assert TRANSITIONS[status] <= BY_CITIZEN_ONLY


# -- erasure: functions/domain/citizens/erasure.py -------------------------------------------


def test_an_erasure_names_its_subject_by_phone_e_mail_or_id() -> None:
    assert subject_ids(phone="070-123 45 67") == [pseudonym("phone", PHONE)]
    assert subject_ids(email=" Anna.Andersson@Example.se ") == [pseudonym("email", MAIL)]
    assert subject_ids(citizen="cit_abcd") == ["cit_abcd"]
    ids = subject_ids(phone=PHONE, email=MAIL, citizen=APP_CITIZEN)
    assert ids == [pseudonym("phone", PHONE), pseudonym("email", MAIL), APP_CITIZEN]
    # the same person named twice is one id
    assert subject_ids(phone=PHONE, citizen=pseudonym("phone", PHONE)) == [
        pseudonym("phone", PHONE)
    ]


@pytest.mark.parametrize(
    "subject",
    [
        {},
        {"phone": "12"},
        {"email": "not-an-address"},
        {"citizen": "cit_abc"},
        {"citizen": "user_abcdefgh"},
        {"phone": "", "email": "", "citizen": ""},
    ],
)
def test_an_erasure_that_names_no_one_is_refused(subject: dict[str, str]) -> None:
    with pytest.raises(InvalidSubject):
        subject_ids(**subject)


def test_an_erased_request_keeps_only_the_street_choices_and_numbers() -> None:
    record = request(
        attributes={"address": "Storgatan 12B, lgh 1102", "description": "min granne", "x": "y"}
    )
    assert public_attributes(record) == {"address": "Storgatan"}
    assert public_attributes(request(attributes={"address": "12"})) == {}
    unknown = request(service_code="no-such-service", attributes={"address": "Storgatan 1"})
    assert public_attributes(unknown) == {}
    tax = request(service_code="tax-return-approve", attributes={"personal_code": "12345678"})
    assert public_attributes(tax) == {}


# -- status look-up: functions/web/lookup.py -------------------------------------------------


class FakeRequests:
    def __init__(self, *records: Any) -> None:
        self.records = {r["reference"]: r for r in records}
        self.asked: list[str] = []

    def get(self, reference: str) -> Any:
        self.asked.append(reference)
        return self.records.get(reference)


def test_the_look_up_needs_the_requests_own_contact_detail() -> None:
    record = request(contact={"phone": PHONE, "email": MAIL})
    assert contact_matches(record, "070-123 45 67", "SE")
    assert contact_matches(record, " +46701234567 ", "SE")
    assert contact_matches(record, "ANNA.Andersson@example.se ", "SE")
    assert not contact_matches(record, "070-987 65 43", "SE")
    assert not contact_matches(record, "bo@example.se", "SE")
    assert not contact_matches(record, "not a number", "SE")
    assert not contact_matches(request(contact={}), "@", "SE")
    assert not contact_matches(request(contact=None), PHONE, "SE")
    assert not contact_matches(request(contact={"email": MAIL}), PHONE, "SE")


def test_find_request_answers_only_with_reference_and_contact() -> None:
    record = request(reference="100000009", contact={"phone": PHONE})
    store: Any = FakeRequests(record)
    assert find_request("1000 0000-9", "0701234567", "SE", store) is record
    assert store.asked == ["100000009"]
    assert find_request("100000009", OTHER_PHONE, "SE", store) is None
    assert find_request("100000017", PHONE, "SE", store) is None  # valid, not there
    asked = len(store.asked)
    assert find_request("100000008", PHONE, "SE", store) is None  # bad check digit
    assert find_request("100000009", "  ", "SE", store) is None
    assert len(store.asked) == asked  # neither reached the table


def test_a_typed_reference_loses_its_spaces_and_dashes() -> None:
    assert clean_reference(" 1234-5678\u00a09\t") == "123456789"
    assert clean_reference("12a") == "12a"


# -- more of each rule: the edges a mutant finds ---------------------------------------------


def test_the_language_is_the_preferences_then_the_requests_then_swedish() -> None:
    english = plan(changed(), request(consent=True, language="en"), FakeCitizens())
    swedish = plan(changed(), request(consent=True, language=None), FakeCitizens())
    unknown = plan(changed(), request(consent=True, language="xx"), FakeCitizens())
    assert isinstance(english, Message) and isinstance(swedish, Message)
    assert "Street damage" in english.body and "Skada på gata" in swedish.body
    assert unknown == swedish


def test_a_request_without_contact_details_is_told_at_the_saved_address() -> None:
    record = request(consent=True)
    del record["contact"]
    citizens = FakeCitizens({}, {APP_CITIZEN: {"phone": PHONE}})
    message = plan(changed(), record, citizens)
    assert isinstance(message, Message) and message.to == PHONE


def test_the_text_names_the_service_the_agency_and_the_expected_date() -> None:
    late: dict[str, Any] = {"type": SLA_BREACHED, "data": {}}
    english = request(consent=True, language="en", channel="eservice")
    receipt = plan(SUBMITTED_EVENT, english, FakeCitizens())
    assert isinstance(receipt, Message)
    assert "(Street damage)" in receipt.body and "by 2026-03-08." in receipt.body
    message = plan(late, english, FakeCitizens())
    assert isinstance(message, Message) and "by Streets Department." in message.body
    unknown = request(
        consent=True, language="en", service_code="no-such-service", agency="no-such-agency"
    )
    fallback = plan(late, unknown, FakeCitizens())
    assert isinstance(fallback, Message)
    assert "(no-such-service)" in fallback.body and "by no-such-agency." in fallback.body


def test_no_note_no_note_line() -> None:
    noted = plan(changed("needs_info", "Vilken lyktstolpe?"), request(consent=True), FakeCitizens())
    bare = plan(changed("needs_info"), request(consent=True), FakeCitizens())
    assert isinstance(noted, Message) and isinstance(bare, Message)
    extra = noted.body.replace(bare.body.rstrip(), "")
    assert "Vilken lyktstolpe?" in extra
    assert "XX" not in bare.body and "\n\n\n" not in bare.body
    assert len(bare.body) < len(noted.body) - len("Vilken lyktstolpe?")


def test_a_closed_request_without_history_was_closed_when_last_updated() -> None:
    record = request(status="resolved", updated_at="2026-03-01T16:00:00Z")
    del record["history"]
    closed = compute(
        [record, request(status="resolved", updated_at="2026-03-01T16:00:00Z")],
        NOW - timedelta(days=30),
        NOW,
        2,
        NOW,
    )
    (row,) = closed.rows
    assert row.median_resolution_hours == 6.0 and row.sla_breach_rate == 0.0


def test_the_aggregates_default_to_now() -> None:
    stats = compute(cell(1), NOW - timedelta(days=30), NOW, 1)
    assert stats.rows[0].sla_breach_rate == 1.0  # expected 2026-03-08, long past
    assert stats.generated_at.startswith(str(datetime.now(UTC).year))


def test_resolution_hours_are_rounded_to_a_tenth() -> None:
    done = request(
        status="resolved",
        expected_at="2026-06-01T00:00:00Z",
        history=[{"status": "resolved", "at": "2026-04-12T02:40:00Z"}],  # 1000.67 hours
    )
    (row,) = compute([done], NOW - timedelta(days=30), NOW, 1, NOW).rows
    assert row.median_resolution_hours == 1000.7 and row.p90_resolution_hours == 1000.7


def test_a_request_closed_exactly_on_its_date_is_not_late() -> None:
    done = request(
        status="resolved",
        expected_at="2026-03-01T16:00:00Z",
        history=[{"status": "resolved", "at": "2026-03-01T16:00:00Z"}],
    )
    (row,) = compute([done], NOW - timedelta(days=30), NOW, 1, NOW).rows
    assert row.sla_breach_rate == 0.0


def test_percentiles_interpolate_between_closest_ranks() -> None:
    from functions.domain.open_data.stats import percentile

    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 3.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 4.0, 8.0, 16.0], 0.3) == pytest.approx(2.4)
    assert percentile([16.0, 1.0, 8.0, 2.0, 4.0], 1.0) == 16.0


def test_scrub_edges() -> None:
    assert privacy.scrub("kod 12 34 56 här") == "kod [\u2026] här"  # six digits: a number
    assert privacy.scrub("lampa 1-2-3-4-5") == "lampa 1-2-3-4-5"  # five: kept
    assert privacy.scrub("hål  i   gatan") == "hål i gatan"
    assert privacy.scrub("Eva ringde", ("Eva",)) == "[\u2026] ringde"  # three letters: a value
    assert privacy.scrub("Xavier Berg", ("Xavier",)) == "[\u2026] Berg"
    # longest value first, whatever the alphabet says
    assert privacy.scrub("Anna Bergström", ("Berg", "Anna Bergström")) == "[\u2026]"
    # a Swedish number is found written 07… inside a word, where no pattern would see it
    assert privacy.scrub("nr070-123 45 67", (PHONE,)) == "nr[\u2026]"
    assert privacy.scrub("nr+46 70 123 45 67", (PHONE,)) == "nr[\u2026]"


def test_street_edges() -> None:
    assert privacy.street_only("Storgatan #B") == "Storgatan"
    assert privacy.street_only("Xavier Street 4") == "Xavier Street"
    assert privacy.street_only("Storgatan, 2 tr, lgh 1102") == "Storgatan"


class OneService:
    """A catalog with one service, for rules the shipped catalog has no example of."""

    def __init__(self, service: Any) -> None:
        self.the = service

    def service(self, code: str) -> Any:
        return self.the if code == self.the.service_code else None


def with_attributes(service: Any, **changes: dict[str, Any]) -> Any:
    """``service`` with its attributes changed (``code={field: value}``), or added."""
    base = service.attributes[0]
    attributes = [a.model_copy(update=changes.pop(a.code, {})) for a in service.attributes]
    attributes += [base.model_copy(update={"code": c, **u}) for c, u in changes.items()]
    return service.model_copy(update={"attributes": tuple(attributes)})


def test_a_personal_description_is_never_published() -> None:
    assert STREETS is not None
    personal = with_attributes(STREETS, description={"personal": True})
    record = request(attributes={"description": "Min granne Olle"}, description=None)
    assert privacy.public_description(personal, record) is None
    assert privacy.public_description(STREETS, record) == "Min granne Olle"


def test_public_text_scrubs_the_filers_own_values() -> None:
    assert STREETS is not None
    record = request(personal={"name": "Andersson"})
    assert privacy.public_text(STREETS, "Andersson ringde", record) == "[\u2026] ringde"


def test_an_erased_request_keeps_numbers_and_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.domain.citizens import erasure

    assert STREETS is not None
    service = with_attributes(
        STREETS,
        count={"datatype": "number", "location": False, "personal": False},
        kind={"datatype": "singlevaluelist", "location": False, "personal": False},
        name={"datatype": "string", "location": False, "personal": True},
    )
    monkeypatch.setattr(erasure, "get_catalog", lambda: OneService(service))
    record = request(
        attributes={
            "name": "Olle",
            "description": "min granne",
            "count": "3",
            "kind": "pothole",
            "address": "Storgatan 4",
        }
    )
    assert public_attributes(record) == {"count": "3", "kind": "pothole", "address": "Storgatan"}


def test_an_erasure_says_why_it_names_no_one() -> None:
    cases = [
        ({"phone": "12"}, "not a valid phone number"),
        ({"email": "x"}, "not an e-mail address"),
        ({"citizen": "user_abcdefgh"}, "a citizen id starts with cit_"),
        ({}, "name a phone number, an e-mail address or a citizen id"),
    ]
    for subject, message in cases:
        with pytest.raises(InvalidSubject) as caught:
            subject_ids(**subject)
        assert str(caught.value) == message


def test_the_look_up_reads_a_local_number_in_the_jurisdictions_region() -> None:
    record = request(contact={"phone": "+4722123456"})  # Oslo
    assert contact_matches(record, "22 12 34 56", "NO")
    assert not contact_matches(record, "22 12 34 56", "SE")


def test_a_reference_with_a_letter_is_no_reference() -> None:
    store: Any = FakeRequests(request(reference="100000009"))
    assert find_request("10000000X9", PHONE, "SE", store) is None
    assert store.asked == []


# -- lifecycle: functions/domain/requests/lifecycle.py ---------------------------------------


class FakeStore:
    """The requests table for one request: ``conflicts`` updates fail as if someone else
    changed it first (``meanwhile`` is what they changed)."""

    def __init__(self, record: Any, conflicts: int = 0, meanwhile: dict[str, Any] | None = None):
        self.record = dict(record)
        self.conflicts = conflicts
        self.meanwhile = meanwhile or {}
        self.updates: list[tuple[Any, ...]] = []
        self.also: list[dict[str, Any]] = []  # extra items written in the change's transaction
        self.asked: list[str] = []

    def get(self, reference: str) -> Any:
        self.asked.append(reference)
        return dict(self.record) if reference == self.record["reference"] else None

    def update(
        self, reference: str, version: int, changes: Any, entry: Any, event: Any, also: Any = ()
    ) -> None:
        from functions.domain.requests.store import Conflict

        if self.conflicts:
            self.conflicts -= 1
            self.record |= self.meanwhile | {"version": self.record["version"] + 1}
            raise Conflict(reference)
        assert version == self.record["version"]
        self.updates.append((reference, version, changes, entry, event))
        self.also.extend(also)
        self.record |= changes | {"version": version + 1}


MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    from functions.platform import clock

    monkeypatch.setattr(clock, "now", lambda: MOMENT)
    return MOMENT


def test_an_agency_moves_its_own_request_and_the_change_is_stored_with_its_event(
    fixed_clock: datetime,
) -> None:
    from functions.domain.requests.lifecycle import change_status

    before = {"status": "in_progress", "at": "2026-03-01T11:00:00Z", "by": "agency:streets"}
    store: Any = FakeStore(request(status="in_progress", version=4, history=[before]))
    done = change_status(
        "streets",
        "100000009",
        Status.NEEDS_INFO,
        note="Vilken stolpe?",
        expected_at=datetime(2026, 3, 20, tzinfo=UTC),
        store=store,
    )
    ((reference, version, changes, entry, event),) = store.updates
    assert (reference, version) == ("100000009", 4)
    assert changes == {
        "status": "needs_info",
        "updated_at": "2026-03-02T09:30:00Z",
        "expected_at": "2026-03-20T00:00:00Z",
    }
    assert entry == {
        "status": "needs_info",
        "at": "2026-03-02T09:30:00Z",
        "by": "agency:streets",
        "note": "Vilken stolpe?",
    }
    assert event["type"] == STATUS_CHANGED and event["time"] == "2026-03-02T09:30:00Z"
    assert event["data"]["status"] == "needs_info"
    assert event["data"]["previous_status"] == "in_progress"
    assert event["data"]["note"] == "Vilken stolpe?"
    assert done.previous is Status.IN_PROGRESS
    assert done.record["status"] == "needs_info" and done.record["version"] == 5
    assert done.record["history"] == [before, entry]
    assert done.record["expected_at"] == "2026-03-20T00:00:00Z"


def test_closing_a_request_starts_its_retention_and_a_move_without_a_note_has_none(
    fixed_clock: datetime,
) -> None:
    from functions.domain.requests.lifecycle import change_status

    store: Any = FakeStore(request(status="in_progress"))
    done = change_status("streets", "100000009", Status.RESOLVED, store=store)
    ((_, _, changes, entry, event),) = store.updates
    retention = load_catalog().jurisdiction.retention_days
    assert changes["expires_at"] == int((MOMENT + timedelta(days=retention)).timestamp())
    assert "expected_at" not in changes and "note" not in entry
    assert "note" not in event["data"]
    assert done.record["expires_at"] == changes["expires_at"]
    reopened: Any = FakeStore(request(status="received"))
    change_status("streets", "100000009", Status.IN_PROGRESS, store=reopened)
    assert "expires_at" not in reopened.updates[0][2]


@pytest.mark.parametrize(
    ("current", "new"),
    [("received", "resolved"), ("resolved", "in_progress"), ("rejected", "rejected")],
)
def test_a_move_the_lifecycle_does_not_allow_is_refused_and_stores_nothing(
    current: str, new: str, fixed_clock: datetime
) -> None:
    from functions.domain.requests.lifecycle import Refused, change_status

    store: Any = FakeStore(request(status=current))
    with pytest.raises(Refused) as refused:
        change_status("streets", "100000009", Status(new), store=store)
    assert str(refused.value) == f"a request cannot go from {current} to {new}"
    assert store.updates == []


def test_another_agencys_request_or_a_wrong_reference_is_not_found(fixed_clock: datetime) -> None:
    from functions.domain.requests.lifecycle import NotFound, agency_request, change_status

    store: Any = FakeStore(request(agency="waste"))
    for agency, reference in [("streets", "100000009"), ("waste", "100000008")]:
        with pytest.raises(NotFound):
            change_status(agency, reference, Status.IN_PROGRESS, store=store)
    with pytest.raises(NotFound):
        agency_request("waste", "100000017", store)  # valid, not there
    assert agency_request("waste", "100000009", store)["agency"] == "waste"
    assert store.updates == []
    assert "100000008" not in store.asked  # an invalid reference never reaches the table


def test_a_change_made_meanwhile_is_checked_again_on_the_fresh_request(
    fixed_clock: datetime,
) -> None:
    from functions.domain.requests.lifecycle import Refused, change_status

    retried: Any = FakeStore(request(status="in_progress", version=1), conflicts=2)
    done = change_status("streets", "100000009", Status.RESOLVED, store=retried)
    assert retried.updates[0][1] == 3 and done.record["version"] == 4
    closed: Any = FakeStore(
        request(status="in_progress"), conflicts=1, meanwhile={"status": "rejected"}
    )
    with pytest.raises(Refused, match="from rejected to resolved"):
        change_status("streets", "100000009", Status.RESOLVED, store=closed)
    busy: Any = FakeStore(request(status="in_progress"), conflicts=3)
    with pytest.raises(Refused) as refused:
        change_status("streets", "100000009", Status.RESOLVED, store=busy)
    assert str(refused.value) == "the request changed meanwhile; read it and try again"
    assert busy.updates == []


def test_the_first_change_starts_the_history(fixed_clock: datetime) -> None:
    from functions.domain.requests.lifecycle import change_status

    record = request(status="received")
    del record["history"]
    done = change_status("streets", "100000009", Status.IN_PROGRESS, store=FakeStore(record))
    assert done.record["history"] == [
        {"status": "in_progress", "at": "2026-03-02T09:30:00Z", "by": "agency:streets"}
    ]


# -- confirmation and one-time codes: functions/domain/citizens/contacts.py ------------------


class FakeContactStore:
    """Confirmed contacts, link tokens and look-up codes, in memory."""

    class client:
        class exceptions:
            class ConditionalCheckFailedException(Exception):
                pass

    def __init__(self) -> None:
        self.confirmed: dict[str, str] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}

    def mark_confirmed(self, contact: str, source: str) -> None:
        self.confirmed[contact] = source

    def is_confirmed(self, contact: str) -> bool:
        return contact in self.confirmed

    def save_token(self, token_hash: str, values: dict[str, Any], ttl_seconds: int) -> None:
        self.tokens[token_hash] = dict(values)

    def token(self, token_hash: str) -> dict[str, Any] | None:
        return self.tokens.get(token_hash)

    def delete_token(self, token_hash: str) -> None:
        self.tokens.pop(token_hash, None)

    def save_code(self, reference: str, code_hash: str, ttl_seconds: int) -> None:
        self.codes[reference] = {"code": code_hash, "wrong": 0}

    def code(self, reference: str) -> dict[str, Any] | None:
        return self.codes.get(reference)

    def count_wrong_code(self, reference: str) -> int:
        self.codes[reference]["wrong"] += 1
        return int(self.codes[reference]["wrong"])

    def delete_code(self, reference: str) -> None:
        self.codes.pop(reference, None)


@pytest.mark.parametrize(
    ("number", "texted"),
    [
        ("+46701234567", True),  # a Swedish mobile
        ("+46900123456", False),  # premium rate
        ("+44909123456", False),  # premium rate abroad
        ("+4981234567", False),  # a German number
        ("+4687654321", False),  # a Stockholm landline
        ("not a number", False),
    ],
)
def test_sms_goes_only_to_mobile_numbers_of_the_jurisdiction(number: str, texted: bool) -> None:
    assert contacts.sms_capable(number, ("SE",)) is texted
    assert contacts.sms_capable("+46701234567", ("FI",)) is False


def test_one_confirmation_per_request_and_three_per_contact_a_day(bus: LocalBus) -> None:
    dedup, store = DedupStore(), CitizenStore()
    cid = pseudonym("phone", PHONE)

    def claim(reference: str) -> int:  # with what a sent confirmation leaves behind
        pending = store.pending_put(cid, reference, "sv", contacts.PENDING_TTL_SECONDS)
        return contacts.claim_confirmation(reference, cid, dedup, also=[pending])

    assert claim("1234567897") == 0
    assert claim("1234567897") == -1
    assert claim("2234567896") == 0
    assert claim("3234567895") == 0
    assert (store.pending(cid) or {})["reference"] == "3234567895"
    assert claim("4234567894") > 0
    # capped: nothing of the refused confirmation was written (a JA still means the last one)
    assert not dedup.seen(f"confirm#4234567894#{cid}")
    assert (store.pending(cid) or {})["reference"] == "3234567895"
    # a confirmation that could not be sent may be tried again for that request
    contacts.release_confirmation("1234567897", cid, dedup)
    assert not dedup.seen(f"confirm#1234567897#{cid}")


def test_a_link_confirms_only_through_its_button_and_only_once() -> None:
    store = FakeContactStore()
    cid = pseudonym("email", MAIL)
    token = contacts.new_link_token(cid, "1234567897", "sv", store)
    assert token not in str(store.tokens)  # only its hash is kept
    assert contacts.link_target(token, store) == {
        "contact": cid,
        "reference": "1234567897",
        "language": "sv",
    }
    assert store.confirmed == {}  # looking at the link confirms nothing
    assert contacts.confirm_link(token, store)["contact"] == cid
    assert store.confirmed == {cid: "email:link"}
    assert contacts.confirm_link(token, store) is None
    assert contacts.link_target("", store) is None
    assert contacts.link_target("x" * 65, store) is None


def test_a_code_works_once_and_the_fifth_wrong_try_voids_it() -> None:
    store = FakeContactStore()
    code = contacts.issue_code("1234567897", store)
    assert len(code) == 6 and code.isdigit() and code not in str(store.codes)
    assert contacts.check_code("1234567897", f" {code} ", store) == "ok"
    assert contacts.check_code("1234567897", code, store) == "wrong"
    code = contacts.issue_code("1234567897", store)
    wrong = "000000" if code != "000000" else "111111"
    answers = [contacts.check_code("1234567897", wrong, store) for _ in range(5)]
    assert answers == ["wrong", "wrong", "wrong", "wrong", "void"]
    assert contacts.check_code("1234567897", code, store) == "wrong"
    assert contacts.check_code("2234567896", code, store) == "wrong"


class KeptAnswers:
    """The idempotency table as change_status sees it: the items a change wrote with it."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def put_new(self, key: str, ttl_seconds: int, **values: Any) -> dict[str, Any]:
        return {"Put": {"id": key, **values}}

    def get(self, key: str) -> dict[str, Any] | None:
        puts = [a["Put"] for a in self.store.also if a["Put"]["id"] == key]
        return puts[-1] if puts else None


@pytest.fixture
def kept_answers(monkeypatch: pytest.MonkeyPatch) -> Any:
    from functions.domain.requests import lifecycle

    stores: list[KeptAnswers] = []

    def build(store: FakeStore) -> None:
        monkeypatch.setattr(lifecycle, "DedupStore", lambda: stores[0])
        stores.append(KeptAnswers(store))

    return build


def test_a_retried_status_change_is_answered_again_and_changes_nothing(
    fixed_clock: datetime, kept_answers: Any
) -> None:
    from functions.domain.requests.lifecycle import change_status

    store: Any = FakeStore(request(status="in_progress", version=4))
    kept_answers(store)
    first = change_status(
        "streets", "100000009", Status.RESOLVED, note="Lagat", idempotency_key="k-1", store=store
    )
    ((put,),) = [store.also]
    assert put["Put"]["id"].startswith("agency-status#streets#")
    assert "k-1" not in put["Put"]["id"]  # the key is kept hashed
    assert json.loads(put["Put"]["answer"]) == first.answer
    assert first.answer["status"] == "resolved" and not first.replayed
    again = change_status(
        "streets", "100000009", Status.RESOLVED, note="Lagat", idempotency_key="k-1", store=store
    )
    assert again.replayed and again.answer == first.answer
    assert len(store.updates) == 1  # nothing changed the second time


@pytest.mark.parametrize(
    "other",
    [
        {"status": Status.REJECTED, "note": "Lagat"},
        {"status": Status.RESOLVED, "note": "Annat"},
        {"status": Status.RESOLVED, "note": None},
        {
            "status": Status.RESOLVED,
            "note": "Lagat",
            "expected_at": datetime(2026, 4, 1, tzinfo=UTC),
        },
    ],
)
def test_the_same_key_for_another_change_is_refused(
    fixed_clock: datetime, kept_answers: Any, other: dict[str, Any]
) -> None:
    from functions.domain.requests.lifecycle import KeyReused, change_status

    store: Any = FakeStore(request(status="in_progress", version=4))
    kept_answers(store)
    change_status(
        "streets", "100000009", Status.RESOLVED, note="Lagat", idempotency_key="k-1", store=store
    )
    with pytest.raises(KeyReused):
        change_status("streets", "100000009", idempotency_key="k-1", store=store, **other)
    assert len(store.updates) == 1


def test_each_agency_has_its_own_keys_and_no_key_keeps_nothing(
    fixed_clock: datetime, kept_answers: Any
) -> None:
    from functions.domain.requests.lifecycle import change_status

    store: Any = FakeStore(request(status="in_progress", version=4))
    kept_answers(store)
    change_status("streets", "100000009", Status.NEEDS_INFO, store=store)
    assert store.also == []  # without a key nothing is kept
    change_status("streets", "100000009", Status.IN_PROGRESS, idempotency_key="k", store=store)
    ids = [a["Put"]["id"] for a in store.also]
    assert ids == [f"agency-status#streets#{hashlib.sha256(b'k').hexdigest()}"]
    assert store.also[0]["Put"]["reference"] == "100000009"

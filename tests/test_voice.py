"""Whole phone calls through ``POST /channels/voice``: each Gather's action URL is followed
with the caller's keypad or speech input, the way Twilio drives a call."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import boto3
import pytest

from citizenbus.local.phone import call_params, sid, twilio_request
from citizenbus.local.runtime import LocalBus
from functions.domain.agencies.routing import agency_queue
from functions.domain.citizens.identity import pseudonym
from tests.support.bus import count_items, load_event, nothing_stored
from tests.support.twilio import ANNA, BASE, Call, reference_said


def stored(reference: str) -> dict:
    return boto3.client("dynamodb").get_item(
        TableName="citizenbus-requests", Key={"reference": {"S": reference}}
    )["Item"]


def test_the_call_starts_with_a_language_choice_in_both_languages(bus: LocalBus) -> None:
    sample = load_event("twilio/voice_call_start.json")
    response = twilio_request(bus, sample["path"], sample["params"])
    root = ET.fromstring(response.body)
    gather = root.find("Gather")
    says = {s.attrib["language"]: s.text or "" for s in gather.iter("Say")}
    assert "svenska, tryck 1" in says["sv-SE"] and "English, press 2" in says["en-GB"]
    assert gather.attrib["numDigits"] == "1"
    assert gather.attrib["action"].startswith(f"{BASE}/channels/voice?step=language")


def test_the_main_menu_is_the_catalog_in_order_plus_status(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("1")
    assert call.step == "choose"
    said = call.said
    positions = [
        said.index("Godkänn deklarationen: tryck 1"),
        said.index("Skada på gata: tryck 2"),
        said.index("Missad sophämtning: tryck 3"),
        said.index("tryck 9"),
    ]
    assert positions == sorted(positions)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_tax_return_by_phone_takes_the_code_by_keypad_and_reads_the_reference_back(
    bus: LocalBus, language: str
) -> None:
    call = Call(bus)
    call.press("1" if language == "sv" else "2")
    call.press("1")
    gather = call.gather
    assert gather.attrib["input"] == "dtmf" and gather.attrib["finishOnKey"] == "#"
    assert gather.attrib["numDigits"] == "8"
    call.press("12345678")
    assert "1, 2, 3, 4, 5, 6, 7, 8" in call.said  # the code read back to confirm
    assert "12345678" not in call.gather.attrib["action"]  # never in a URL
    call.press("1")
    reference = reference_said(call)
    assert call.said.count(", ".join(reference)) == 2  # read back twice
    item = stored(reference)
    assert item["channel"] == {"S": "voice"} and item["language"] == {"S": language}
    assert item["personal"]["M"] == {"personal_code": {"S": "12345678"}}
    assert item["contact"] == {"M": {"phone": {"S": ANNA}}}
    assert item["notify_by"] == {"S": "sms"}
    bus.pump()
    [message] = bus.queue_messages(agency_queue("tax"))
    assert message["detail"]["data"]["channel"] == "voice"
    assert message["detail"]["data"]["citizen"] == pseudonym("phone", ANNA)
    raw = json.dumps(message)
    assert "12345678" not in raw and "701234567" not in raw
    call.silence()
    assert call.hung_up
    assert ("Hej då" if language == "sv" else "Goodbye") in call.said


def test_street_damage_by_phone_takes_address_and_description_by_speech(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("2")
    call.press("2")
    assert call.gather.attrib["input"] == "speech"
    assert call.gather.attrib["language"] == "en-GB"
    call.speak("Storgatan 1.")
    assert call.gather.attrib["input"] == "speech dtmf"  # optional: may be skipped
    call.speak("A deep hole by the bus stop.")
    assert "Address: Storgatan 1." in call.said
    assert "Description: A deep hole by the bus stop." in call.said
    call.press("1")
    reference = reference_said(call)
    assert stored(reference)["attributes"]["M"] == {
        "address": {"S": "Storgatan 1"},
        "description": {"S": "A deep hole by the bus stop"},
    }
    bus.pump()
    [message] = bus.queue_messages(agency_queue("streets"))
    assert message["detail"]["data"]["channel"] == "voice"
    assert message["detail"]["data"]["attributes"]["address"] == "Storgatan 1"


def test_missed_waste_by_phone_in_swedish_and_the_optional_step_can_be_skipped(
    bus: LocalBus,
) -> None:
    call = Call(bus)
    call.press("1")
    call.press("3")
    assert call.gather.attrib["language"] == "sv-SE"
    sample = load_event("twilio/voice_gather_speech.json")
    assert sample["params"]["SpeechResult"] == "Storgatan 1."
    call.speak("Sopvägen 2")
    assert "Adress: Sopvägen 2." in call.said
    call.press("1")
    reference = reference_said(call)
    assert stored(reference)["service_code"] == {"S": "missed-waste-collection"}
    # Skipping street damage's optional description with silence / the hash key.
    call.press("0")
    call.press("2")
    call.speak("Storgatan 5")
    call.silence()
    assert "Beskrivning" not in call.said
    call.press("1")
    second = reference_said(call)
    assert second != reference
    assert stored(second)["attributes"]["M"] == {"address": {"S": "Storgatan 5"}}


def test_a_wrong_code_is_explained_and_asked_again(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("2")
    call.press("1")
    call.press("1234567")
    assert "exactly 8 digits" in call.said
    assert call.step == "answer"
    call.press("87654321")
    call.press("1")
    assert stored(reference_said(call))["personal"]["M"] == {"personal_code": {"S": "87654321"}}


def test_start_again_at_confirmation_files_nothing(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("2")
    call.press("3")
    call.speak("Dump Lane 7")
    call.press("2")
    assert call.step == "choose"
    assert nothing_stored()


def test_a_retried_confirmation_files_once_and_reads_the_same_reference(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("2")
    call.press("3")
    call.speak("Dump Lane 7")
    confirm_path = call.gather.attrib["action"][len(BASE) :]
    call.press("1")
    first = reference_said(call)
    call.post(confirm_path, {"Digits": "1"})  # Twilio retries the same request
    assert reference_said(call) == first
    assert count_items("requests") == 1


def test_status_by_phone_only_for_the_callers_own_requests(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("2")
    call.press("3")
    call.speak("Dump Lane 7")
    call.press("1")
    reference = reference_said(call)
    call.press("0")
    call.press("9")
    call.press(reference)
    assert f"Request {', '.join(reference)}: received." in call.said
    assert "Expected by" in call.said

    other = Call(bus, caller="+46702222222")
    other.press("2")
    other.press("9")
    other.press(reference)
    assert "We found no request" in other.said and "received" not in other.said


def test_silence_and_wrong_keys_re_prompt_then_a_polite_goodbye(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("1")
    call.press("7")  # no such choice
    assert "Det valet finns inte" in call.said and call.step == "choose"
    call.silence()
    assert call.step == "choose"
    call.silence()
    assert call.hung_up
    assert "Tyvärr" in call.said and "Hej då" in call.said
    assert nothing_stored()

    quiet = Call(bus)
    for _ in range(3):
        assert not quiet.hung_up
        quiet.silence()
    assert quiet.hung_up and "Sorry" in quiet.said and "Tyvärr" in quiet.said


def test_silence_on_a_required_question_re_prompts(bus: LocalBus) -> None:
    call = Call(bus)
    call.press("2")
    call.press("2")
    call.silence()
    assert "I did not hear an answer" in call.said and call.step == "answer"
    call.silence()
    call.silence()
    assert call.hung_up and "Goodbye" in call.said
    assert nothing_stored()


def test_a_withheld_number_cannot_file(bus: LocalBus) -> None:
    params = call_params("anonymous", sid("CA"))
    response = twilio_request(bus, "/channels/voice", params)
    root = ET.fromstring(response.body)
    assert response.status == 200 and root.find("Hangup") is not None
    assert "dolt nummer" in " ".join(s.text or "" for s in root.iter("Say"))
    assert nothing_stored()


def test_a_missing_call_sid_is_refused(bus: LocalBus) -> None:
    params = call_params(ANNA, sid("CA"))
    params.pop("CallSid")
    assert twilio_request(bus, "/channels/voice", params).status == 400


def test_the_sample_gather_result_picks_english(bus: LocalBus) -> None:
    sample = load_event("twilio/voice_gather_digits.json")
    response = twilio_request(bus, sample["path"], sample["params"])
    root = ET.fromstring(response.body)
    says = list(root.iter("Say"))
    assert response.status == 200 and all(s.attrib["language"] == "en-GB" for s in says)
    assert "Street damage: press 2." in " ".join(s.text or "" for s in says)

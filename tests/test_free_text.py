"""Free text understood by SMS: a text that names a service without its keyword gets one
question back in its own language, and only a yes files it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import boto3
import pytest

from citizenbus.local.phone import sid, sms_params, twilio_request
from citizenbus.local.runtime import LocalBus
from tests.support.bus import count_items, nothing_stored
from tests.support.contacts import outbox

ANNA = "+46701234567"
STRANGER = "+46701740611"  # fictional numbers (PTS: 070-174 06 05…99)
OTHER = "+46701740612"


def reply(bus: LocalBus, body: str, message_sid: str | None = None, sender: str = ANNA) -> str:
    response = twilio_request(bus, "/channels/sms", sms_params(sender, body, message_sid))
    assert response.status == 200, response.text
    [message] = [m.text or "" for m in ET.fromstring(response.body).iter("Message")]
    return message


def filed(text: str) -> dict[str, str]:
    """The request a filing reply names: its service and attributes."""
    found = re.search(r"\b(\d{10})\b", text)
    assert found, text
    item = boto3.client("dynamodb").get_item(
        TableName="citizenbus-requests", Key={"reference": {"S": found.group(1)}}
    )["Item"]
    attributes = {k: v["S"] for k, v in item["attributes"]["M"].items()}
    attributes |= {k: v["S"] for k, v in item.get("personal", {}).get("M", {}).items()}
    return {"service": item["service_code"]["S"], "language": item["language"]["S"]} | attributes


@pytest.mark.parametrize(
    ("text", "question", "yes", "service", "address", "thanks"),
    [
        (
            "hej jag vill anmäla att sopor inte hämtats på Sopvägen 3",
            "Missad sophämtning, Sopvägen 3? Svara JA så skickar vi in det.",
            "JA",
            "missed-waste-collection",
            "Sopvägen 3",
            "Tack!",
        ),
        (  # typos, no capitals
            "soporna har inte hamtats pa sopvägen 3",
            "Missad sophämtning, sopvägen 3? Svara JA så skickar vi in det.",
            "ja",
            "missed-waste-collection",
            "sopvägen 3",
            "Tack!",
        ),
        (
            "pothole on Main Road 5",
            "Street damage, Main Road 5? Reply YES to send it.",
            "YES",
            "street-damage",
            "Main Road 5",
            "Thank you!",
        ),
        (  # typos
            "there is a big pothle in the raod at Main Road 5",
            "Street damage, Main Road 5? Reply YES to send it.",
            "Yes!",
            "street-damage",
            "Main Road 5",
            "Thank you!",
        ),
        (
            "Roskia ei ole haettu, Koulukatu 5",
            "Jätteet jäivät hakematta, Koulukatu 5? Vastaa KYLLÄ niin ilmoitus lähetetään.",
            "KYLLÄ",
            "missed-waste-collection",
            "Koulukatu 5",
            "Kiitos!",
        ),
        (  # typo (kuopa), and KYLLA typed without the dots
            "iso kuopa kadulla Mannerheimintie 12",
            "Katuvaurio, Mannerheimintie 12? Vastaa KYLLÄ niin ilmoitus lähetetään.",
            "kylla",
            "street-damage",
            "Mannerheimintie 12",
            "Kiitos!",
        ),
        (
            "حفرة كبيرة في شارع النصر 12",
            "ضرر في الشارع، النصر 12؟ أرسل نعم للتقديم.",
            "نعم",
            "street-damage",
            "النصر 12",
            "شكرا!",
        ),
    ],
)
def test_free_text_gets_one_question_and_a_yes_files_it(
    bus: LocalBus, text: str, question: str, yes: str, service: str, address: str, thanks: str
) -> None:
    assert reply(bus, text) == question
    assert nothing_stored()  # nothing is filed without the yes
    answer = reply(bus, yes)
    assert answer.startswith(thanks), answer
    request = filed(answer)
    assert request["service"] == service and request["address"] == address
    assert count_items("requests") == 1
    # The question is answered: the same yes again files nothing more.
    reply(bus, yes)
    assert count_items("requests") == 1


def test_a_question_without_an_address_asks_for_it_after_the_yes(bus: LocalBus) -> None:
    assert reply(bus, "soptunnan har inte tömts") == (
        "Missad sophämtning? Svara JA så frågar vi efter det som behövs."
    )
    assert "Adress?" in reply(bus, "JA")
    assert nothing_stored()
    assert filed(reply(bus, "Sopvägen 3"))["address"] == "Sopvägen 3"


def test_free_text_about_the_tax_return_asks_for_the_personal_code_after_the_yes(
    bus: LocalBus,
) -> None:
    assert reply(bus, "I want to approve my tax return") == (
        "Approve your tax return? Reply YES and we will ask for what we need."
    )
    assert "Personal code?" in reply(bus, "YES")
    assert nothing_stored()
    assert filed(reply(bus, "1234-5678"))["service"] == "tax-return-approve"


@pytest.mark.parametrize("answer", ["NEJ", "no", "EI", "لا"])
def test_no_drops_the_question_and_files_nothing(bus: LocalBus, answer: str) -> None:
    reply(bus, "sopor har inte hämtats på Sopvägen 3")
    assert reply(bus, answer) in (
        "Okej, inget har skickats in.",
        "OK, nothing was sent.",
        "Selvä, mitään ei lähetetty.",
        "حسنا، لم يتم تقديم أي طلب.",
    )
    assert "förstod" in reply(bus, "JA") or nothing_stored()  # the question is gone
    assert nothing_stored()


def test_other_text_is_read_afresh_and_files_nothing(bus: LocalBus) -> None:
    reply(bus, "sopor har inte hämtats på Sopvägen 3")
    assert reply(bus, "hej hej").startswith("Det förstod vi inte.")  # Swedish: its own language
    assert reply(bus, "pothole on Main Road 5").startswith("Street damage, Main Road 5?")
    assert nothing_stored()
    assert filed(reply(bus, "YES"))["service"] == "street-damage"  # the latest question


def test_a_keyword_still_files_at_once_and_unrelated_text_gets_help(bus: LocalBus) -> None:
    assert filed(reply(bus, "SOPOR Sopvägen 3"))["address"] == "Sopvägen 3"
    # A number the bus has not met: the help in the text's own language.
    assert reply(bus, "Hello, is anyone there?", sender=STRANGER).startswith(
        "Sorry, we did not get that."
    )
    assert reply(bus, "Mitä kuuluu? Onko siellä ketään", sender=OTHER).startswith(
        "Emme ymmärtäneet"
    )
    # A number that used a Swedish keyword: the language it last used comes before the text's.
    assert reply(bus, "Hello, is anyone there?").startswith("Det förstod vi inte.")
    assert count_items("requests") == 1


def test_twilio_retries_get_the_same_reply_and_file_once(bus: LocalBus) -> None:
    ask, yes = sid("SM"), sid("SM")
    first = reply(bus, "pothole on Main Road 5", ask)
    assert reply(bus, "pothole on Main Road 5", ask) == first
    filing = reply(bus, "YES", yes)
    for _ in range(3):
        assert reply(bus, "YES", yes) == filing
    assert count_items("requests") == 1


def test_a_pending_question_comes_before_a_contact_confirmation(bus: LocalBus) -> None:
    form = {
        "address": "Storgatan 1",
        "phone": "0701234567",
        "notify_by": "sms",
        "consent": "true",
    }
    response = bus.request("POST", "/eservice/v1/forms/street-damage", json_body=form)
    web_reference = response.json()["reference"]
    bus.pump()
    assert "Svara JA" in outbox(bus)[-1]["body"]  # the confirmation SMS
    reply(bus, "sopor har inte hämtats på Sopvägen 3")
    # JA answers the question the bus asked last: the free text is filed...
    assert filed(reply(bus, "JA"))["service"] == "missed-waste-collection"
    # ...and the next JA confirms the number for the web request.
    assert reply(bus, "JA") == (
        f"Tack! Du får sms om ärende {web_reference}. Skriv STOP för att stänga av."
    )
    assert count_items("requests") == 2

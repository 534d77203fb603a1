"""The web e-service in a real headless chromium: file, receipt, status, errors, language.

Every page visited is checked by axe-core and photographed into test-output/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import Pages, Server, check_accessibility, screenshot

# What a citizen types into each demo form (service code → attribute values).
DEMO_INPUT = {
    "tax-return-approve": {"personal_code": "87654321"},
    "street-damage": {"address": "Storgatan 1", "description": "Ett djupt hål vid busshållplatsen"},
    "missed-waste-collection": {"address": "Sopvägen 2"},
}
AGENCY = {
    "tax-return-approve": "tax",
    "street-damage": "streets",
    "missed-waste-collection": "waste",
}
NAMES_SV = {
    "tax-return-approve": "Godkänn deklarationen",
    "street-damage": "Skada på gata",
    "missed-waste-collection": "Missad sophämtning",
}


def reference_on(page: Any) -> str:
    reference = page.locator("#reference").inner_text().strip()
    assert re.fullmatch(r"\d{8,12}", reference), reference
    return reference


@pytest.mark.parametrize(
    ("service", "contact", "notify"),
    [
        ("tax-return-approve", {"email": "anna@example.se"}, "email"),
        ("street-damage", {"phone": "070-123 45 67"}, "sms"),
        ("missed-waste-collection", {"phone": "0731234567", "email": "b@example.se"}, "none"),
    ],
)
def test_file_each_demo_form_then_look_up_its_status(
    server: Server, pages: Pages, service: str, contact: dict[str, str], notify: str
) -> None:
    page = pages.new()
    page.goto(server.base + "/")
    assert page.locator("html").get_attribute("lang") == "sv"
    check_accessibility(page, "home-sv")

    page.get_by_role("link", name=NAMES_SV[service]).click()
    page.wait_for_url(f"**/forms/{service}")
    assert page.get_by_role("heading", level=1).inner_text() == NAMES_SV[service]
    # The script filled in a submission id for this rendering.
    assert page.locator("input[name=submission_id]").input_value()
    check_accessibility(page, f"form-{service}")

    for code, value in DEMO_INPUT[service].items():
        page.locator(f"#field-{code}").fill(value)
    if "phone" in contact:
        page.get_by_label("Telefonnummer (frivilligt)").fill(contact["phone"])
    if "email" in contact:
        page.get_by_label("E-postadress (frivilligt)").fill(contact["email"])
    page.locator(f"#field-notify_by-{notify}").check()
    if notify != "none":
        page.locator("#field-consent").check()
    page.get_by_role("button", name="Skicka").click()

    page.wait_for_url("**/receipt/**")
    assert "Tack!" in page.get_by_role("heading", level=1).inner_text()
    reference = reference_on(page)
    check_accessibility(page, f"receipt-{service}")

    # The request reached the agency's queue like every other channel's, without contact data.
    message = server.wait_for_queued(AGENCY[service], reference)
    data = message["detail"]["data"]
    assert data["channel"] == "eservice" and data["service_code"] == service
    for value in contact.values():
        assert value not in str(message)
    assert "87654321" not in str(message)

    page.get_by_role("link", name="Se hur det går med ett ärende").first.click()
    page.wait_for_url("**/status")
    check_accessibility(page, "status-form")
    page.get_by_label("Ärendenummer").fill(reference)
    page.get_by_label("Telefonnummer eller e-postadress").fill(
        contact.get("phone") or contact["email"]
    )
    page.get_by_role("button", name="Visa ärendet").click()
    page.wait_for_selector("#status")
    assert page.locator("#status").inner_text() == "Mottaget"
    assert page.locator("#reference").inner_text() == reference
    assert page.locator("table.history tbody tr").count() == 1
    check_accessibility(page, f"status-{service}")


def test_a_bad_field_is_caught_in_the_browser_with_the_servers_message(
    server: Server, pages: Pages
) -> None:
    before = len(server.queued("tax"))
    page = pages.new()
    page.goto(server.base + "/en/forms/tax-return-approve")
    page.get_by_label("Personal code (required)").fill("1234567")
    page.get_by_label("E-mail address (optional)").fill("anna@example.se")
    page.get_by_role("button", name="Send").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    # Focus moves to the summary, which is announced (role=alert) and links to the field.
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert summary.get_attribute("role") == "alert"
    field = page.locator("#field-personal_code")
    assert field.get_attribute("aria-invalid") == "true"
    error = page.locator("#field-personal_code-error")
    assert error.inner_text() == "Error: The personal code must be exactly 8 digits."
    assert "field-personal_code-error" in (field.get_attribute("aria-describedby") or "")
    assert page.title().startswith("Error: ")
    assert page.url == server.base + "/en/forms/tax-return-approve"  # nothing was sent
    check_accessibility(page, "form-error-js")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "field-personal_code"
    # Fixing it clears the error and files the request.
    field.fill("12345678")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/en/receipt/**")
    server.wait_for_queued("tax", reference_on(page))
    assert len(server.queued("tax")) == before + 1  # one request, none for the bad attempt


def test_without_javascript_the_server_draws_the_errors(server: Server, pages: Pages) -> None:
    page = pages.new(javascript=False)
    page.goto(server.base + "/forms/street-damage")
    page.get_by_label("Adress (måste fyllas i)").fill("x")
    page.locator("#field-notify_by-sms").check()
    page.get_by_role("button", name="Skicka").click()
    page.wait_for_selector("#error-summary")
    assert page.title().startswith("Fel: ")
    texts = page.locator("#error-summary li").all_inner_texts()
    assert texts == [
        "Skriv en gatuadress (3 till 200 tecken).",
        "Ange ett telefonnummer eller en e-postadress.",
        "Kryssa i rutan om du vill få besked, eller välj Nej tack.",
    ]
    assert page.locator("#field-address").get_attribute("aria-invalid") == "true"
    assert page.locator("#field-address").input_value() == "x"
    screenshot(page, "form-error-server-nojs")  # axe needs script: see the test below
    page.get_by_label("Adress (måste fyllas i)").fill("Storgatan 9")
    page.get_by_label("Telefonnummer (frivilligt)").fill("0701234567")
    page.locator("#field-consent").check()
    page.get_by_role("button", name="Skicka").click()
    page.wait_for_url("**/receipt/**")
    reference = reference_on(page)
    server.wait_for_queued("streets", reference)


def test_the_status_page_says_the_same_for_a_wrong_contact(server: Server, pages: Pages) -> None:
    page = pages.new()
    page.goto(server.base + "/en/status")
    page.get_by_label("Reference number").fill("1234567897")
    page.get_by_label("Phone number or e-mail address").fill("nobody@example.se")
    page.get_by_role("button", name="Show the request").click()
    page.wait_for_selector("#error-summary")
    assert "We found no request" in page.locator("#error-summary").inner_text()
    check_accessibility(page, "status-not-found")


def test_switch_language_and_back(server: Server, pages: Pages) -> None:
    page = pages.new()
    page.goto(server.base + "/forms/street-damage")
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/en/forms/street-damage")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Street damage"
    assert page.get_by_label("Address (required)").get_attribute("required") is not None
    check_accessibility(page, "form-street-damage-en")
    page.get_by_role("link", name="Svenska").click()
    page.wait_for_url("**/forms/street-damage")
    assert page.locator("html").get_attribute("lang") == "sv"
    page.goto(server.base + "/en")
    check_accessibility(page, "home-en")


@pytest.mark.parametrize(("language", "direction"), [("fi", "ltr"), ("ar", "rtl")])
def test_finnish_and_arabic_pages_are_accessible(
    server: Server, pages: Pages, language: str, direction: str
) -> None:
    page = pages.new()
    for path in ("", "/forms/street-damage", "/status"):
        page.goto(f"{server.base}/{language}{path}")
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == (language, direction)
        assert page.evaluate("getComputedStyle(document.body).direction") == direction
        check_accessibility(page, f"{language}{path.replace('/', '-') or '-home'}")
    page.get_by_role("link", name="Svenska").click()
    page.wait_for_url("**/status")
    assert page.locator("html").get_attribute("lang") == "sv"


def test_keyboard_only(server: Server, pages: Pages) -> None:
    page = pages.new()
    page.goto(server.base + "/forms/street-damage")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    order = []
    for _ in range(12):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    fields = [o for o in order if o.startswith("field-") or o == "BUTTON"]
    assert fields[:6] == [
        "field-address",
        "field-description",
        "field-phone",
        "field-email",
        "field-notify_by-none",  # a radio group is one tab stop, at its checked radio
        "field-consent",
    ], order
    assert "BUTTON" in fields
    # Fill and send the whole form from the keyboard.
    page.focus("#field-address")
    page.keyboard.type("Kungsgatan 3")
    page.focus("#field-email")
    page.keyboard.type("c@example.se")
    page.focus("#field-notify_by-none")
    page.keyboard.press("ArrowUp")  # to "by e-mail"
    assert page.locator("#field-notify_by-email").is_checked()
    page.focus("#field-consent")
    page.keyboard.press("Space")
    page.focus("button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/receipt/**")
    reference_on(page)


def test_the_server_drawn_error_page_is_accessible(server: Server, pages: Pages) -> None:
    page = pages.new()
    page.goto(server.base + "/en/forms/tax-return-approve")
    page.get_by_label("Personal code (required)").fill("abc")
    page.locator("form").evaluate("form => form.submit()")  # skips the script's own checks
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    texts = page.locator("#error-summary li").all_inner_texts()
    assert texts == [
        "The personal code must be exactly 8 digits.",
        "Give a phone number or an e-mail address.",
    ]
    check_accessibility(page, "form-error-server")


def test_the_accessibility_check_catches_what_it_should(pages: Pages) -> None:
    """A page with an unlabelled field and grey-on-white text must fail the check."""
    page = pages.new()
    page.set_content(
        '<html lang="en"><title>bad</title><main><h1>Bad</h1>'
        '<p style="color:#bbb">faint text</p><input name="x"></main></html>'
    )
    with pytest.raises(AssertionError) as failure:
        check_accessibility(page, "axe-self-check")
    assert "label" in str(failure.value) and "color-contrast" in str(failure.value)


@pytest.mark.parametrize(
    ("service", "fill", "notify"),
    [
        ("street-damage", {"field-address": "x"}, "sms"),
        ("street-damage", {"field-address": "Storgatan 1", "field-email": "a@b"}, "email"),
        ("tax-return-approve", {"field-personal_code": "12ab5678", "field-phone": "07"}, "none"),
        ("missed-waste-collection", {"field-email": "anna@example.se"}, "sms"),
    ],
)
def test_the_script_and_the_server_find_the_same_errors(
    server: Server, pages: Pages, service: str, fill: dict[str, str], notify: str
) -> None:
    """The browser's checks are hints that match the server: same fields, same words."""
    found = []
    for send in ("click", "submit"):  # the script's check, then a plain post to the server
        page = pages.new()
        page.goto(f"{server.base}/forms/{service}")
        for field, value in fill.items():
            page.locator(f"#{field}").fill(value)
        page.locator(f"#field-notify_by-{notify}").check()
        if send == "click":
            page.get_by_role("button", name="Skicka").click()
        else:
            page.locator("form").evaluate("form => form.submit()")
        page.wait_for_selector("#error-summary")
        links = page.locator("#error-summary a")
        found.append(
            [
                (links.nth(i).get_attribute("href"), links.nth(i).inner_text())
                for i in range(links.count())
            ]
        )
    assert found[0] == found[1]
    assert found[0]

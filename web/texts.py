"""The words on the pages, in plain Swedish and English (the catalog has the service texts)."""

from __future__ import annotations

from functions.platform.texts import STATUS_NAMES

TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "skip": "Hoppa till innehållet",
        "switch": "English",
        "tagline": "E-tjänster",
        "home_title": "Vad vill du göra?",
        "home_intro": "Välj en tjänst. Du får ett ärendenummer när du har skickat in.",
        "status_link": "Se hur det går med ett ärende",
        "status_link_intro": "Har du redan skickat in något? Skriv ärendenumret och "
        "telefonnumret eller e-postadressen du angav.",
        "services": "Tjänster",
        "err_too_many": "Du har försökt för många gånger. Vänta en stund och försök igen.",
        "err_code": "Koden stämmer inte. Kontrollera den eller be om en ny.",
        "err_code_void": "Koden är förbrukad efter för många försök. Be om en ny kod om en stund.",
        "details_title": "Se uppgifterna i ärendet",
        "details_intro": "Adress, beskrivning och meddelanden visas bara med en engångskod som vi "
        "skickar till telefonnumret eller e-postadressen du angav.",
        "details_description": "Beskrivning",
        "code_ask": "Skicka en kod till mig",
        "code_title": "Skriv koden",
        "code_sent": "Om uppgifterna stämmer har vi skickat en kod med 6 siffror till dig. "
        "Den gäller i 10 minuter.",
        "code_label": "Engångskod",
        "code_hint": "6 siffror.",
        "confirm_title": "Bekräfta din e-postadress",
        "confirm_text": "Tryck på knappen för att få besked om ärendet på den här e-postadressen.",
        "confirm_button": "Bekräfta",
        "confirm_not_you": "Var det inte du som angav adressen? Stäng sidan, så händer ingenting.",
        "confirmed_title": "Tack, din e-postadress är bekräftad",
        "confirmed_text": "Du får besked om ärendet när något händer.",
        "receipt_confirm": "Om du angav ett telefonnummer eller en e-postadress får du först ett "
        "meddelande som ber dig bekräfta den. Svara JA på sms:et eller tryck på knappen i "
        "e-postmeddelandet, så får du besked om ärendet.",
        "back": "Tillbaka till alla tjänster",
        "required": "måste fyllas i",
        "optional": "frivilligt",
        "contact_legend": "Hur når vi dig?",
        "contact_hint": "Ange telefonnummer, e-postadress eller båda. Vi använder dem bara "
        "för det här ärendet.",
        "phone": "Telefonnummer",
        "phone_hint": "Till exempel 070-123 45 67.",
        "email": "E-postadress",
        "email_hint": "Till exempel namn@exempel.se.",
        "notify_legend": "Vill du få besked när något händer?",
        "notify_sms": "Ja, skicka sms",
        "notify_email": "Ja, skicka e-post",
        "notify_none": "Nej tack",
        "consent": "Jag samtycker till att ni kontaktar mig om det här ärendet på det sätt "
        "jag har valt.",
        "consent_hint": "Du kan ta tillbaka ditt samtycke när du vill.",
        "submit": "Skicka",
        "sending": "Skickar …",
        "error_prefix": "Fel:",
        "error_summary": "Något behöver rättas",
        "error_summary_intro": "Rätta det som står nedan och skicka igen.",
        "error_title_prefix": "Fel: ",
        "chars_left": "tecken kvar",
        "err_consent": "Kryssa i rutan om du vill få besked, eller välj Nej tack.",
        "err_email": "Skriv en giltig e-postadress, till exempel namn@exempel.se.",
        "err_sms_phone": "Vi skickar bara sms till svenska mobilnummer. Skriv ett mobilnummer "
        "eller välj e-post.",
        "err_phone": "Skriv ett giltigt telefonnummer, till exempel 070-123 45 67.",
        "err_required": "Uppgiften saknas.",
        "err_form": "Formuläret kunde inte läsas. Försök igen.",
        "receipt_title": "Tack! Vi har tagit emot ditt ärende",
        "receipt_reference": "Ditt ärendenummer",
        "receipt_keep": "Spara numret. Du behöver det om du vill se hur det går eller "
        "kontakta oss om ärendet.",
        "receipt_next": "Vad händer nu?",
        "receipt_next_text": "Ärendet har skickats till {agency}. Du kan se hur det går "
        "på statussidan.",
        "receipt_service": "Tjänst",
        "another": "Skicka in något annat",
        "status_title": "Se hur det går med ditt ärende",
        "status_intro": "Skriv ärendenumret och telefonnumret eller e-postadressen du angav "
        "när du skickade in.",
        "reference": "Ärendenummer",
        "reference_hint": "8 till 12 siffror, till exempel 1234567897.",
        "contact": "Telefonnummer eller e-postadress",
        "contact_hint_status": "Samma som du angav när du skickade in.",
        "look_up": "Visa ärendet",
        "err_reference": "Skriv ärendenumret, 8 till 12 siffror.",
        "err_contact": "Skriv telefonnumret eller e-postadressen du angav.",
        "not_found": "Vi hittade inget ärende med det numret och den kontaktuppgiften. "
        "Kontrollera att du skrev rätt.",
        "status_now": "Status just nu",
        "history": "Det här har hänt",
        "when": "När",
        "what": "Vad",
        "note": "Meddelande",
        "submitted": "Skickat",
        "expected": "Beräknas klart",
        "look_up_another": "Se ett annat ärende",
        "page_not_found": "Sidan finns inte",
        "page_not_found_text": "Kontrollera adressen, eller börja om från startsidan.",
    },
    "en": {
        "skip": "Skip to main content",
        "switch": "Svenska",
        "tagline": "E-services",
        "home_title": "What do you want to do?",
        "home_intro": "Choose a service. You get a reference number when you have sent it.",
        "status_link": "Check the status of a request",
        "status_link_intro": "Already sent something? Enter the reference number and the "
        "phone number or e-mail address you gave.",
        "services": "Services",
        "err_too_many": "You have tried too many times. Wait a while and try again.",
        "err_code": "The code is not right. Check it or ask for a new one.",
        "err_code_void": "The code is used up after too many tries. Ask for a new one in a while.",
        "details_title": "See the details of the request",
        "details_intro": "The address, description and messages are shown only with a one-time "
        "code that we send to the phone number or e-mail address you gave.",
        "details_description": "Description",
        "code_ask": "Send me a code",
        "code_title": "Enter the code",
        "code_sent": "If the details match, we have sent you a code of 6 digits. "
        "It is valid for 10 minutes.",
        "code_label": "One-time code",
        "code_hint": "6 digits.",
        "confirm_title": "Confirm your e-mail address",
        "confirm_text": "Press the button to get updates about the request at this e-mail address.",
        "confirm_button": "Confirm",
        "confirm_not_you": "Did someone else give your address? "
        "Close this page and nothing happens.",
        "confirmed_title": "Thank you, your e-mail address is confirmed",
        "confirmed_text": "You will hear from us when something happens with the request.",
        "receipt_confirm": "If you gave a phone number or an e-mail address, you first get a "
        "message asking you to confirm it. Reply YES to the text or press the button in the "
        "e-mail, and you will get updates about the request.",
        "back": "Back to all services",
        "required": "required",
        "optional": "optional",
        "contact_legend": "How can we reach you?",
        "contact_hint": "Give a phone number, an e-mail address or both. We only use them "
        "for this request.",
        "phone": "Phone number",
        "phone_hint": "For example 070-123 45 67.",
        "email": "E-mail address",
        "email_hint": "For example name@example.com.",
        "notify_legend": "Do you want to hear from us when something happens?",
        "notify_sms": "Yes, by text message",
        "notify_email": "Yes, by e-mail",
        "notify_none": "No thanks",
        "consent": "I agree that you contact me about this request in the way I chose.",
        "consent_hint": "You can withdraw your consent at any time.",
        "submit": "Send",
        "sending": "Sending …",
        "error_prefix": "Error:",
        "error_summary": "There is a problem",
        "error_summary_intro": "Correct what is shown below and send again.",
        "error_title_prefix": "Error: ",
        "chars_left": "characters left",
        "err_consent": "Tick the box if you want to hear from us, or choose No thanks.",
        "err_email": "Enter a valid e-mail address, for example name@example.com.",
        "err_sms_phone": "We only send texts to Swedish mobile numbers. Enter a mobile number "
        "or choose e-mail.",
        "err_phone": "Enter a valid phone number, for example 070-123 45 67.",
        "err_required": "This field is required.",
        "err_form": "The form could not be read. Please try again.",
        "receipt_title": "Thank you! We have received your request",
        "receipt_reference": "Your reference number",
        "receipt_keep": "Keep this number. You need it to check the status or to contact "
        "us about the request.",
        "receipt_next": "What happens next?",
        "receipt_next_text": "Your request has been sent to {agency}. You can follow it on "
        "the status page.",
        "receipt_service": "Service",
        "another": "Send something else",
        "status_title": "Check the status of your request",
        "status_intro": "Enter the reference number and the phone number or e-mail "
        "address you gave when you sent it.",
        "reference": "Reference number",
        "reference_hint": "8 to 12 digits, for example 1234567897.",
        "contact": "Phone number or e-mail address",
        "contact_hint_status": "The same one you gave when you sent it.",
        "look_up": "Show the request",
        "err_reference": "Enter the reference number, 8 to 12 digits.",
        "err_contact": "Enter the phone number or e-mail address you gave.",
        "not_found": "We found no request with that number and contact detail. "
        "Check that you typed them correctly.",
        "status_now": "Status now",
        "history": "What has happened",
        "when": "When",
        "what": "What",
        "note": "Message",
        "submitted": "Sent",
        "expected": "Expected to be done",
        "look_up_another": "Check another request",
        "page_not_found": "Page not found",
        "page_not_found_text": "Check the address, or start again from the home page.",
    },
}


# Status names come from the one list every channel reads (capitalised: they stand alone here).
for _language, _texts in TEXTS.items():
    _texts.update(
        {
            f"status.{s}": n[_language][:1].upper() + n[_language][1:]
            for s, n in STATUS_NAMES.items()
        }
    )


def text(language: str) -> dict[str, str]:
    """The page texts in ``language`` (Swedish for anything but English)."""
    return TEXTS["en" if language == "en" else "sv"]

"""The phone channels as Twilio drives them: a caller working through the voice menu."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

from citizenbus.local.phone import call_params, sid, twilio_request
from citizenbus.local.runtime import LocalBus

ANNA = "+46701234567"
BASE = "http://127.0.0.1:8000"


class Call:
    """One caller on the line: sends what Twilio would and remembers where the call is."""

    def __init__(self, bus: LocalBus, caller: str = ANNA) -> None:
        self.bus = bus
        self.caller = caller
        self.call_sid = sid("CA")
        self.root: ET.Element = ET.Element("Response")
        self.path = "/channels/voice"
        self.post(self.path, {})

    def post(self, path: str, extra: dict[str, str]) -> ET.Element:
        params = call_params(self.caller, self.call_sid) | extra
        response = twilio_request(self.bus, path, params)
        assert response.status == 200, response.text
        assert response.headers["Content-Type"].startswith("application/xml")
        self.root = ET.fromstring(response.body)
        self.path = path
        return self.root

    @property
    def said(self) -> str:
        return " ".join(s.text or "" for s in self.root.iter("Say"))

    @property
    def gather(self) -> ET.Element:
        gather = self.root.find("Gather")
        assert gather is not None, ET.tostring(self.root)
        return gather

    @property
    def step(self) -> str:
        return parse_qs(urlsplit(self.gather.attrib["action"]).query)["step"][0]

    def _follow(self, url: str, extra: dict[str, str]) -> ET.Element:
        assert url.startswith(BASE)
        return self.post(url[len(BASE) :], extra)

    def press(self, digits: str) -> ET.Element:
        assert "dtmf" in self.gather.attrib.get("input", "dtmf")
        return self._follow(self.gather.attrib["action"], {"Digits": digits})

    def speak(self, words: str) -> ET.Element:
        assert "speech" in self.gather.attrib["input"]
        extra = {"SpeechResult": words, "Confidence": "0.93"}
        return self._follow(self.gather.attrib["action"], extra)

    def silence(self) -> ET.Element:
        """No input: Twilio moves past the Gather to the Redirect (or posts empty)."""
        if self.gather.attrib.get("actionOnEmptyResult") == "true":
            return self._follow(self.gather.attrib["action"], {})
        redirect = self.root.find("Redirect")
        if redirect is None:  # the verbs after the Gather play, then the call ends
            rest = list(self.root)[list(self.root).index(self.gather) + 1 :]
            self.root = ET.Element("Response")
            self.root.extend(rest)
            return self.root
        assert redirect.text
        return self._follow(redirect.text, {})

    @property
    def hung_up(self) -> bool:
        return self.root.find("Hangup") is not None and self.root.find("Gather") is None


def reference_said(call: Call) -> str:
    match = re.search(r"((?:\d, ){7,11}\d)", call.said)
    assert match, call.said
    return match.group(1).replace(", ", "")

"""``citizenbus demo`` narrates the whole journey, and every hop really happens."""

from __future__ import annotations

import pytest

from citizenbus.cli import main


def test_the_demo_files_by_sms_routes_updates_and_notifies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for hop in (
        "1. A citizen texts",
        "2. Stored",
        "3. The streets department",
        "4. It moves",
        "5. status_changed",
        "6. The citizen opens the app",
        "7. The citizen texts",
    ):
        assert hop in out
    assert "Ärendenummer" in out.split("▶ 2.")[0]  # the SMS reply holds the reference
    assert "handläggs nu" in out  # the SMS notification, in Swedish like the citizen's text
    assert '"channel": "sms"' in out
    event_part = out.split("▶ 2.")[1].split("▶ 3.")[0]
    assert "+46701234567" not in event_part  # no phone number on the bus
    assert '"level"' not in out  # handler logs stay out of the narration
    app_part = out.split("▶ 6.")[1].split("▶ 7.")[0]
    assert '"channel": "sms"' in app_part  # the SMS request, in the app once linked
    last = out.split("▶ 7.")[1]
    assert "(Skada på gata): handläggs" in last and "Ärende" in last  # Swedish, as in GATA

"""The local bus's wiring file is the synthesized template's (regenerate: ``make wiring``)."""

from __future__ import annotations

from citizenbus.local import wiring
from infra.cdk.app import Synth


def test_the_committed_wiring_is_the_templates(synthesized: Synth) -> None:
    fresh = wiring.render(wiring.extract(synthesized.template(wiring.ENVIRONMENT)))
    committed = wiring.WIRING_FILE.read_text(encoding="utf-8")
    assert committed == fresh, "citizenbus/local/wiring.json is stale: run `make wiring`"


def test_every_function_of_the_template_is_wired_with_its_role(synthesized: Synth) -> None:
    wired = wiring.extract(synthesized.template(wiring.ENVIRONMENT))
    from functions import topology

    assert set(wired["functions"]) == {f.name for f in topology.FUNCTIONS}
    for name, fn in wired["functions"].items():
        assert fn["statements"], f"{name} has no role statements"
        assert fn["environment"]["EVENT_BUS_NAME"] == {"Ref": "Bus95A03305"}

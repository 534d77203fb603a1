"""Prove the wiring can fail: each grant and each environment variable of each function in the
template's wiring, removed one at a time, makes a journey on the local bus fail, or is listed
in tests/wiring_mutations_allowed.toml with the reason it is harmless.

The mutations run once per session on one bus (tests/support/wiring_mutations.py); each is
then a test case of its own, so a survivor is named in the failure. The summary is printed;
``python -m tests.support.wiring_mutations`` writes it to tests/wiring_mutations.md.
"""

from __future__ import annotations

import pytest

from citizenbus.local import wiring
from tests.support import wiring_mutations as wm

MUTATIONS = wm.mutations(wiring.load())


@pytest.fixture(scope="module")
def report() -> wm.Report:
    result = wm.run()
    print(
        f"\nwiring mutations: {len(result.caught)} of {len(result.outcomes)} caught, "
        f"{len(result.survivors)} survivors allowed, {result.seconds:.0f} s"
    )
    return result


@pytest.mark.timeout(900)  # the whole run is this module's first test's set-up
@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_removing_it_fails_a_journey_or_is_harmless(
    report: wm.Report, mutation: wm.Mutation
) -> None:
    (outcome,) = [o for o in report.outcomes if o.mutation == mutation]
    assert outcome.caught_by or outcome.allowed, (
        f"{mutation.id} survived {outcome.journeys} journeys and is not in "
        f"{wm.ALLOWED_FILE.name}: add a journey that needs it, or the reason it is harmless"
    )


def test_every_allow_list_entry_is_still_needed(report: wm.Report) -> None:
    """An entry that no survivor matches any more goes: the list stays the truth."""
    wired = wiring.load()
    for entry in wm.load_allowed():
        matched = [o for o in report.survivors if wm.allowed_reason(o.mutation, [entry], wired)]
        assert matched, f"allow-list entry matches no survivor: {entry}"


def test_the_mutations_are_every_variable_and_every_distinct_statement() -> None:
    wired = wiring.load()
    agency_api = [m for m in MUTATIONS if m.function == "agency_api"]
    variables = {m.target for m in agency_api if m.kind == "env"}
    assert variables == set(wired["functions"]["agency_api"]["environment"])
    grants = [m for m in agency_api if m.kind == "grant"]
    assert any(m.target.startswith("secretsmanager:GetSecretValue") for m in grants)
    assert not any(m.target.startswith(("logs:", "xray:")) for m in grants)
    assert len({m.statement for m in grants}) == len(grants)  # identical copies merged

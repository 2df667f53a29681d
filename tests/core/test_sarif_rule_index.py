"""A result's ruleIndex is the position of its rule, found by lookup, not by listing every rule."""

from __future__ import annotations

from bmad.core.sarif import SarifRun


def test_rule_index_is_the_rules_position_by_lookup() -> None:
    """Guards the SARIF of a large bundle (session 5): every result listed all rules to find its
    index (4,000 results x 180 rules on the 1,000-object corpus)."""
    run = SarifRun("bmad")
    for number in range(200):
        run.rule(f"R{number}", short=f"rule {number}")
    run.result("R150", message="one")
    run.result("R3", message="two")
    assert [r["ruleIndex"] for r in run.results] == [150, 3]
    assert run.positions["R150"] == 150
    run.rules["EXTRA"] = {"id": "EXTRA", "shortDescription": {"text": "added directly"}}
    run.result("EXTRA", message="three")
    run.result("NEW", message="declared by its first result")
    assert [r["ruleIndex"] for r in run.results[2:]] == [200, 201]
    assert [r["id"] for r in run.to_dict()["tool"]["driver"]["rules"]][-2:] == ["EXTRA", "NEW"]

"""The catalog data files: a mistake is an error that names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.phases.analyze.catalog import CatalogError, loaded_checks
from bmad.phases.analyze.catalog.loader import load_text
from bmad.phases.analyze.evaluators import EVALUATORS
from bmad.phases.analyze.readiness import evaluate_entry
from bmad.phases.analyze.readiness_data import Category, ItemStatus, Scope
from bmad.phases.analyze.suppressions import SuppressionSet
from tests.phases.analyze.fixtures import build
from tests.phases.analyze.patches import as_mutation

ENTRY = """\
# a comment
- id: TQ-901
  name: Example
  severity: low
  evaluator: has_workload
  title: An example
  rationale: Because.
  fix: Do it.
  cases:
    fail:
    - remove: Deployment
"""


def test_a_valid_entry_loads_with_its_scope_from_the_evaluator_registration() -> None:
    [check] = load_text(ENTRY, "testing.yaml", Category.TESTING)
    assert check.where == "testing.yaml:2"
    assert check.entry.scope is Scope.BUNDLE
    assert check.entry.severity.value == "low"
    assert check.cases.pass_ == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENTRY.replace("  fix: Do it.\n", "  fix: Do it.\n  fixx: typo\n"), "testing.yaml:9: 0.fixx: Extra inputs"),
        (ENTRY.replace("severity: low", "severity: urgent"), "testing.yaml:4: 0.severity:"),
        (
            ENTRY.replace("  title: An example", "  title: 12"),
            "testing.yaml:6: 0.title: Input should be a valid string",
        ),
        (
            ENTRY.replace("remove: Deployment", "remove: Deployment\n      value: 1"),
            "testing.yaml:11: 0.cases.fail.0.remove.value: Extra",
        ),
        (
            ENTRY.replace("remove: Deployment", "removez: Deployment"),
            "testing.yaml:11: 0.cases.fail.0: not a known patch",
        ),
        (ENTRY.replace("has_workload", "no_such_evaluator"), "testing.yaml:2: TQ-901 names unknown evaluator"),
        (ENTRY.replace("TQ-901", "SC-901"), "testing.yaml:2: SC-901 does not belong in testing.yaml"),
        (ENTRY.replace("  name: Example", "  name: [Example"), "testing.yaml:"),
    ],
)
def test_mistakes_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as error:
        load_text(text, "testing.yaml", Category.TESTING)
    assert str(error.value).startswith(message), str(error.value)


def test_every_entry_runs_at_its_evaluators_registered_scope() -> None:
    for check in loaded_checks():
        assert check.entry.scope is EVALUATORS[check.entry.evaluator].scope, check.where


def test_ids_are_unique_and_in_order_within_each_file() -> None:
    for category in Category:
        ids = [c.entry.id for c in loaded_checks() if c.entry.category is category]
        assert ids == sorted(set(ids)), category


def test_the_worked_example_in_contributing_md_is_a_real_check() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "contributing.md"
    text = docs.read_text(encoding="utf-8")
    marker = "<!-- example-check: reliability.yaml -->\n```yaml\n"
    example = text[text.index(marker) + len(marker) :].split("```", 1)[0]
    [check] = load_text(example, "reliability.yaml", Category.RELIABILITY)
    assert check.entry.id not in {c.entry.id for c in loaded_checks()}
    for patches, expected in ((check.cases.pass_, ItemStatus.PASS), (check.cases.fail, ItemStatus.FAIL)):
        ctx = build(as_mutation(patches), validate=check.cases.validate_schema)
        result = evaluate_entry(check.entry, ctx, SuppressionSet(today=ctx.today))
        assert result.status is expected, result.reason

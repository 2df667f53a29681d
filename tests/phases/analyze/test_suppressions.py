"""Suppressions (annotation and config, expiry, --no-suppressions) and attestations (expiry)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bmad.config.analyze import Suppression
from bmad.core.errors import ConfigError
from bmad.phases.analyze.attestations import Attestation, Attestations, load_attestations
from bmad.phases.analyze.catalog import catalog_by_id
from bmad.phases.analyze.readiness import evaluate_entry, run_catalog
from bmad.phases.analyze.readiness_data import ItemStatus
from bmad.phases.analyze.suppressions import SuppressionSet
from tests.phases.analyze.fixtures import TODAY, Knobs, Objects, build, web, web_pod
from tests.phases.analyze.mutations import sc_set, seq

PRIVILEGED = sc_set("privileged", True)


def _sc012(mutation: Any, suppressions: SuppressionSet | None = None) -> Any:
    ctx = build(mutation)
    entry = catalog_by_id()["SC-012"]
    return evaluate_entry(entry, ctx, suppressions or SuppressionSet(ctx.settings.suppressions, today=TODAY))


def annotate(ids: str, reason: str | None, *, on_template: bool = False) -> Any:
    def run(objects: Objects, knobs: Knobs) -> None:
        meta = web(objects)["spec"]["template"]["metadata"] if on_template else web(objects)["metadata"]
        annotations = meta.setdefault("annotations", {})
        annotations["bmad.dev/ignore"] = ids
        if reason is not None:
            annotations["bmad.dev/ignore-reason"] = reason

    return run


def config_suppression(**fields: Any) -> Any:
    def run(objects: Objects, knobs: Knobs) -> None:
        knobs.settings["suppressions"] = [Suppression(**fields)]

    return run


@pytest.mark.parametrize("on_template", [False, True])
def test_annotation_suppresses_and_stays_visible(on_template: bool) -> None:
    result = _sc012(seq(PRIVILEGED, annotate("SC-017, SC-012", "needs /dev/fuse", on_template=on_template)))
    assert result.status is ItemStatus.PASS
    assert result.failures == []
    assert len(result.suppressed) == 1
    assert "needs /dev/fuse" in (result.suppressed[0].suppressed or "")
    assert result.reason == "1 suppressed"


def test_annotation_without_reason_is_not_honoured() -> None:
    ctx = build(seq(PRIVILEGED, annotate("SC-012", None)))
    suppressions = SuppressionSet(today=TODAY)
    result = evaluate_entry(catalog_by_id()["SC-012"], ctx, suppressions)
    assert result.status is ItemStatus.FAIL
    assert any("without bmad.dev/ignore-reason" in note for note in suppressions.notes)


def test_annotation_for_another_check_does_not_suppress() -> None:
    assert _sc012(seq(PRIVILEGED, annotate("SC-017", "other"))).status is ItemStatus.FAIL


def test_config_suppression_scoped_by_namespace_kind_name_container() -> None:
    scoped = config_suppression(
        check="SC-012",
        reason="fuse mount",
        expires=date(2027, 1, 1),
        namespace="shop",
        kind="Deployment",
        name="w*",
        container="web",
    )
    result = _sc012(seq(PRIVILEGED, scoped))
    assert result.status is ItemStatus.PASS and len(result.suppressed) == 1
    assert "bmad.yaml, expires 2027-01-01" in (result.suppressed[0].suppressed or "")
    other_container = config_suppression(
        check="SC-012", reason="fuse mount", expires=date(2027, 1, 1), container="sidecar"
    )
    assert _sc012(seq(PRIVILEGED, other_container)).status is ItemStatus.FAIL
    other_ns = config_suppression(check="*", reason="legacy namespace", expires=date(2027, 1, 1), namespace="legacy")
    assert _sc012(seq(PRIVILEGED, other_ns)).status is ItemStatus.FAIL


def test_expired_config_suppression_is_not_applied_and_reported() -> None:
    expired = config_suppression(check="SC-012", reason="fuse mount", expires=date(2026, 11, 25))
    ctx = build(seq(PRIVILEGED, expired))
    suppressions = SuppressionSet(ctx.settings.suppressions, today=TODAY)
    result = evaluate_entry(catalog_by_id()["SC-012"], ctx, suppressions)
    assert result.status is ItemStatus.FAIL
    assert any("expired on 2026-11-25" in note for note in suppressions.notes)
    # the day it expires it still applies
    ctx = build(seq(PRIVILEGED, config_suppression(check="SC-012", reason="fuse mount", expires=TODAY)))
    assert (
        evaluate_entry(catalog_by_id()["SC-012"], ctx, SuppressionSet(ctx.settings.suppressions, today=TODAY)).status
        is ItemStatus.PASS
    )


def test_no_suppressions_switch_turns_both_kinds_off() -> None:
    mutation = seq(
        PRIVILEGED,
        annotate("SC-012", "needs /dev/fuse"),
        config_suppression(check="SC-012", reason="fuse mount", expires=date(2027, 1, 1)),
    )
    ctx = build(mutation)
    strict = SuppressionSet(ctx.settings.suppressions, today=TODAY, enabled=False)
    report = run_catalog(ctx, suppressions=strict)
    item = next(i for i in report.items if i.entry.id == "SC-012")
    assert item.status is ItemStatus.FAIL
    assert report.to_dict()["suppressions_enabled"] is False


def test_suppressed_failures_do_not_lower_the_score() -> None:
    ctx = build(seq(PRIVILEGED, annotate("SC-012", "needs /dev/fuse")), validate=True)
    report = run_catalog(ctx)
    assert report.complete_percent == 100.0
    assert report.critical_failures == []
    assert report.counts()["suppressed"] == 1


# -- attestations ---------------------------------------------------------------------------
def test_attestation_expiry_and_future_dates() -> None:
    attestations = Attestations(
        [
            Attestation("SC-055", "alice", date(2026, 1, 1), "tested", date(2026, 6, 1)),
            Attestation("SC-056", "bob", date(2026, 11, 1), "", None),
            Attestation("SC-057", "carol", date(2026, 12, 24), "", None),
        ]
    )
    ok, message = attestations.check("SC-055", TODAY)
    assert not ok and "expired on 2026-06-01" in message and "alice" in message
    assert attestations.check("SC-056", TODAY)[0]
    ok, message = attestations.check("SC-057", TODAY)
    assert not ok and "future" in message
    ok, message = attestations.check("SC-058", TODAY)
    assert not ok and "not attested" in message
    assert attestations.check("SC-055", date(2026, 5, 31))[0]


def test_expired_attestation_fails_the_check() -> None:
    def expire(objects: Objects, knobs: Knobs) -> None:
        knobs.attested["SC-055"] = (date(2026, 1, 1), date(2026, 11, 1))

    ctx = build(expire)
    result = evaluate_entry(catalog_by_id()["SC-055"], ctx, SuppressionSet(today=TODAY))
    assert result.status is ItemStatus.FAIL
    assert "expired on 2026-11-01" in result.reason


def test_attestations_file(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text(
        "attestations:\n"
        "  - item: SC-055\n    who: alice@example.org\n    when: 2026-11-20\n"
        "    note: PR 412\n    expires: 2027-02-20\n"
        "  - {item: IS-027, who: bob, when: 2026-10-01, expiry: 2026-12-01}\n",
        encoding="utf-8",
    )
    loaded = load_attestations(path)
    assert [a.item for a in loaded.entries] == ["SC-055", "IS-027"]
    assert loaded.entries[0].expires == date(2027, 2, 20)
    assert loaded.entries[1].line == 7
    assert loaded.entries[1].expires == date(2026, 12, 1)  # "expiry" is accepted too
    assert load_attestations(tmp_path / "missing.yaml").entries == []
    path.write_text("- item: SC-055\n  when: 2026-11-20\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="needs 'who'"):
        load_attestations(path)
    path.write_text("- item: SC-055\n  who: a\n  when: soon\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a date"):
        load_attestations(path)


def test_pod_annotation_reaches_every_container() -> None:
    def two_containers(objects: Objects, knobs: Knobs) -> None:
        import copy

        pod = web_pod(objects)
        second = copy.deepcopy(pod["containers"][0])
        second["name"] = "sidecar"
        pod["containers"].append(second)
        for c in pod["containers"]:
            c["securityContext"]["privileged"] = True

    result = _sc012(seq(two_containers, annotate("SC-012", "both need it", on_template=True)))
    assert result.status is ItemStatus.PASS
    assert sorted(f.location.container or "" for f in result.suppressed) == ["sidecar", "web"]

"""Readiness items that cannot be decided or cannot apply, and findings written as a person would (issue 14)."""

from __future__ import annotations

from typing import Any

from bmad.config.analyze import NotApplicable
from bmad.phases.analyze.catalog import catalog_by_id
from bmad.phases.analyze.readiness import evaluate_entry
from bmad.phases.analyze.readiness_data import ItemResult, ItemStatus
from bmad.phases.analyze.rollback import build_rollback_plan, describe_rollback_target, render_plan_markdown
from bmad.phases.analyze.suppressions import SuppressionSet
from tests.phases.analyze.fixtures import NS, Knobs, Objects, build, find, meta
from tests.phases.analyze.mutations import remove, seq, setting


def _item(check_id: str, ctx: Any) -> ItemResult:
    return evaluate_entry(catalog_by_id()[check_id], ctx, SuppressionSet(today=ctx.today))


def _ghost_selector(objects: Objects, knobs: Knobs) -> None:
    find(objects, "Service", "web")["spec"]["selector"] = {"app": "ghost", "tier": "web"}


def _operator_resource(objects: Objects, knobs: Knobs) -> None:
    objects.append(
        {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta("ghost"), "spec": {"instances": 2}}
    )


def test_service_of_operator_pods_is_unknown_with_the_reason() -> None:
    """Guards: a Service whose pods an operator creates from a custom resource was a high "matches no pod"."""
    result = _item("TQ-010", build(seq(_ghost_selector, _operator_resource)))
    assert result.status is ItemStatus.SKIPPED
    assert "Cluster/ghost" in result.reason and "operator" in result.reason


def test_service_selector_is_written_as_labels_not_a_dict() -> None:
    """Guards: the finding printed the selector as a Python dict ("{'app': 'ghost'}")."""
    result = _item("TQ-010", build(_ghost_selector))
    assert result.status is ItemStatus.FAIL
    message = result.findings[0].message
    assert "selector app=ghost, tier=web matches no pod template" in message and "{" not in message


def test_attestation_item_declared_not_applicable_in_bmad_yaml() -> None:
    """Guards: an item that cannot apply (no auth) could only be attested, never marked not applicable."""
    declared = [NotApplicable(id="SC-055", reason="internal batch service: no user-facing auth")]
    result = _item("SC-055", build(setting("not_applicable", declared)))
    assert result.status is ItemStatus.NOT_APPLICABLE
    assert "no user-facing auth" in result.reason


def test_data_store_items_not_applicable_when_the_bundle_keeps_no_data() -> None:
    """Guards: database encryption and restore items failed for a service that keeps no data."""
    stateless = build(seq(remove("StatefulSet"), remove("PersistentVolumeClaim"), _no_database_settings))
    for check_id in ("SC-057", "RE-018", "IS-027"):
        result = _item(check_id, stateless)
        assert result.status is ItemStatus.NOT_APPLICABLE, (check_id, result.reason)
        assert "keeps no data" in result.reason
    assert _item("SC-057", build()).status is ItemStatus.PASS  # the baseline migrates a database (attested)


def _no_database_settings(objects: Objects, knobs: Knobs) -> None:
    knobs.settings["required_secrets"] = []
    for obj in objects:
        (obj.get("spec", {}).get("template", {}).get("spec", {}) or {}).pop("initContainers", None)
        for container in (obj.get("spec", {}).get("template", {}).get("spec", {}) or {}).get("containers", []):
            container["env"] = [e for e in container.get("env", []) if "DB" not in e.get("name", "").upper()]
        if obj["kind"] == "ConfigMap":
            obj["data"] = {k: v for k, v in (obj.get("data") or {}).items() if "DB" not in k.upper()}


def test_rollback_plan_summary_and_markdown_never_print_dicts() -> None:
    """Guards: the plan printed "{'state': 'absent'}" and other dicts in its summary and Markdown."""
    plan = build_rollback_plan(
        {"exists": False, "namespace": NS},
        service="web",
        environment="production",
        release_version="abc123",
        timeout_seconds=120.0,
        manifests="k8s/",
        past_durations=[],
    )
    assert describe_rollback_target(plan["to"]) == "nothing (the new release is removed)"
    assert "{" not in render_plan_markdown(plan).split("## Commands")[0]
    revision = {"revision": 3, "release": "abc", "images": ["reg/web:1"], "digest": "sha256:ab", "replicas": 2}
    assert describe_rollback_target(revision) == "revision 3, release abc: reg/web:1@sha256:ab (2 replica(s))"

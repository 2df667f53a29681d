"""ANALYZE against the faithful API stand-in, built by its wiring from bmad.yaml: the access pre-flight
(``analyze.access``) and the server dry-run of a release that creates its namespace.

Both fail against the code before issue 12: ANALYZE had no access review, and the dry-run of every
object in a namespace the release creates was a critical failure (404)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bmad.engine.wiring.analyze import make_plugin
from tests.adapters.targets.kubernetes.conftest import DIGEST, REPOSITORY, config_map, deployment
from tests.kube_apiserver.harness import StandIn
from tests.phase_harness import PhaseRun, context_from_yaml, run_phase


def analyze(tmp_path: Path, standin: StandIn, objects: list[dict[str, Any]], **kubernetes: Any) -> PhaseRun:
    (tmp_path / "k8s").mkdir(parents=True, exist_ok=True)
    (tmp_path / "k8s" / "bundle.yaml").write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    config = {
        "version": 1,
        "service": {"name": "app"},
        "environments": {
            "test": {
                "target": {"kind": "kubernetes", "kubernetes": {"kubeconfig": str(standin.kubeconfig), **kubernetes}}
            }
        },
        "analyze": {"manifests": "k8s"},
    }
    ctx = context_from_yaml(
        tmp_path,
        yaml.safe_dump(config),
        environment="test",
        version="a" * 40,
        options={"image": REPOSITORY, "digest": DIGEST},
    )
    return run_phase(make_plugin(ctx), ctx)


def test_access_preflight_fails_analyze_naming_each_missing_right(tmp_path: Path, standin: StandIn) -> None:
    bundle = [config_map("pf-settings", {"a": "1"}), deployment("pf")]
    granted = analyze(tmp_path / "ci", standin, bundle, context="ci", deployment="pf")
    assert granted.status("analyze.access") == "pass", granted.result("analyze.access")
    refused = analyze(tmp_path / "ro", standin, bundle, context="readonly", namespace="team-a", deployment="pf")
    access = refused.result("analyze.access")
    assert access.status.value == "fail", access
    assert "kubectl auth can-i patch deployments.apps -n team-a: no" in access.observed
    assert "kubectl auth can-i create configmaps -n team-a: no" in access.observed
    assert "kubectl auth can-i update leases.coordination.k8s.io -n team-a: no" in access.observed  # the lock
    assert "kubectl auth can-i list pods -n team-a: no" not in access.observed  # readonly may read


def test_objects_of_a_namespace_the_release_creates_are_dry_run_later_with_a_warning(
    tmp_path: Path, standin: StandIn
) -> None:
    bundle = [config_map("later-settings", {"a": "1"}), deployment("later")]
    outcome = analyze(
        tmp_path, standin, bundle, context="admin", namespace="created-later", create_namespace=True, deployment="later"
    )
    manifests = outcome.result("analyze.manifests")
    assert manifests.status.value == "warn", manifests
    assert "0/2 accepted, 2 deferred" in manifests.summary
    assert manifests.observed.count("not dry-run yet: server dry-run after the namespace exists") == 2
    assert outcome.metrics["kubernetes_manifests_valid"] is True
    assert standin.get("/api/v1/namespaces/created-later") == {}  # ANALYZE created nothing

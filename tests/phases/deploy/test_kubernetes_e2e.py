"""``bmad run`` end to end on the Kubernetes API stand-in (issue 12's scenarios (a)-(h)).

The real CLI runs as a subprocess (BUILD and MEASURE are bench/noop's no-op phases, ANALYZE and
DEPLOY are bmad's), each service in its own git repository, against the faithful stand-in of
tests/kube_apiserver with its ``admin``, ``ci`` (namespace team-a only) and ``readonly`` contexts.
Each test fails against the target before issue 12.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kube_apiserver.harness import StandIn
from tests.phases.deploy.kube_service import REPOSITORY, KubeService, digest

pytestmark = [pytest.mark.slow]

NS = "team-a"


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        yield server
    finally:
        server.stop()


def service(tmp_path: Path, standin: StandIn, name: str, *, context: str = "ci", **settings: Any) -> KubeService:
    return KubeService.create(tmp_path, standin, name, context=context, settings=settings)


def deployment(name: str, *, replicas: int | None = 2, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    container = {
        "name": "app",
        "image": f"{REPOSITORY}:dev",
        "ports": [{"containerPort": 8080}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
    }
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}, "annotations": annotations or {}},
            "spec": {"containers": [container]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def config_map(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def live(standin: StandIn, path: str) -> Any:
    answer = standin.request("GET", path)
    return answer.body if answer.status == 200 else None


def test_a_first_release_with_the_namespace_limited_identity_and_a_refused_readonly_one(
    tmp_path: Path, standin: StandIn
) -> None:
    """(a) ``ci`` may only write in team-a: ANALYZE (dry-run, access review) and DEPLOY pass without any
    cluster-scoped right; ``readonly`` fails ANALYZE's access pre-flight, naming each right, and nothing
    is applied. Before issue 12 the target applied a Namespace (403 for ``ci``) and had no pre-flight."""
    ci = service(tmp_path, standin, "first")
    ci.release([config_map("first-settings", {"mode": "1"}), deployment("first")], "first release")
    outcome = ci.run(digest("1"))
    assert outcome.code == 0, outcome.explain()
    assert outcome.check("analyze.access")["status"] == "pass", outcome.explain()
    assert outcome.check("analyze.manifests")["status"] == "pass", outcome.explain()
    assert outcome.check("deploy.rollout")["status"] == "pass", outcome.explain()
    image = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/first")["spec"]["template"]["spec"]
    assert image["containers"][0]["image"] == f"{REPOSITORY}@{digest('1')}"

    readonly = service(tmp_path, standin, "ro", context="readonly", namespace=NS)
    readonly.release([config_map("ro-settings", {"mode": "1"}), deployment("ro")], "first release")
    refused = readonly.run(digest("1"))
    assert refused.code != 0, refused.explain()
    access = refused.check("analyze.access")
    assert access["status"] == "fail", refused.explain()
    assert "kubectl auth can-i patch deployments.apps -n team-a: no" in access["observed"], access
    assert "kubectl auth can-i create configmaps -n team-a: no" in access["observed"], access
    assert not refused.check("deploy.apply"), "DEPLOY must not start after a failed ANALYZE"
    assert live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/ro") is None
    assert live(standin, f"/api/v1/namespaces/{NS}/configmaps/ro-settings") is None

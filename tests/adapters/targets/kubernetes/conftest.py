"""The faithful API stand-in (tests/kube_apiserver), one process per test module, and helpers
that drive bmad's Kubernetes target against it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bmad.adapters.targets.kubernetes import KubernetesTarget
from bmad.config.deploy import KubernetesTargetConfig
from bmad.ports.target import DeploySpec, ProbeResponse
from tests.kube_apiserver.harness import StandIn

REPOSITORY = "registry.test/app"
DIGEST = "sha256:" + "1" * 64
BAD_DIGEST = "sha256:" + "2" * 64


class NoProbe:
    def get(self, url: str, *, timeout: float) -> ProbeResponse:
        return ProbeResponse(url, 0, "", 0.0)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        yield server
    finally:
        server.stop()


def make_target(standin: StandIn, *, context: str = "ci", namespace: str | None = None, **settings: Any) -> Any:
    config = KubernetesTargetConfig(kubeconfig=str(standin.kubeconfig), context=context, **settings)
    return KubernetesTarget(config, probe=NoProbe(), namespace=namespace, poll_interval=0.1, rollback_timeout=30)


def release(version: str, objects: list[dict[str, Any]], *, digest: str = DIGEST) -> DeploySpec:
    return DeploySpec(
        service="app", environment="test", version=version, image=REPOSITORY, digest=digest, manifests=tuple(objects)
    )


def deployment(
    name: str = "app", *, replicas: int | None = 2, env: dict[str, str] | None = None, containers: int = 1
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "containers": [
                    {
                        "name": "app" if i == 0 else f"sidecar{i}",
                        "image": f"{REPOSITORY}:dev",
                        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                    }
                    for i in range(containers)
                ]
            },
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def config_map(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def hpa(target: str = "app", *, min_replicas: int = 2, max_replicas: int = 6) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        },
    }


def live(standin: StandIn, path: str) -> Any:
    answer = standin.request("GET", path)
    return answer.body if answer.status == 200 else None

"""Deploy and rollback of a 50-object bundle on the Kubernetes API stand-in, bmad against kubectl.

    .venv/bin/python bench/kube_deploy.py [--objects 50] [--rounds 3]

Starts the stand-in (tests/kube_apiserver/serve.py) in a temp dir and, per round, in fresh
namespaces of the ``admin`` context: bmad's Kubernetes target applies the bundle (server-side
apply, in order, with its inventory) and waits for the Deployment; then the same bundle through the
real kubectl (``kubectl apply --server-side`` + ``kubectl rollout status``). Then bmad deploys a
second release and rolls back to the first (the whole stored bundle). Prints wall time and API
requests per step (kubectl's requests are not counted: it runs as another process). Goal: bmad's
deploy within 1.2x kubectl's wall time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

GOAL_RATIO = 1.2


def bundle(namespace: str, objects: int, version: str) -> list[dict[str, Any]]:
    """One Deployment, a Service, and ConfigMaps up to ``objects``."""
    labels = {"app": "bench"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "registry.test/bench:1", "env": [{"name": "V", "value": version}]}
                    ]
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    maps = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"c{i}", "namespace": namespace},
            "data": {"v": version},
        }
        for i in range(objects - 2)
    ]
    return [*maps, deployment, service]


def bmad_round(standin: Any, namespace: str, objects: int) -> dict[str, float]:
    from tests.adapters.targets.kubernetes.conftest import NoProbe

    from bmad.adapters.targets.kubernetes import KubernetesTarget
    from bmad.config.deploy import KubernetesTargetConfig
    from bmad.ports.progress import NullProgress
    from bmad.ports.target import DeploySpec

    standin.request(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    )
    config = KubernetesTargetConfig(kubeconfig=str(standin.kubeconfig), context="admin", deployment="bench")
    target = KubernetesTarget(config, probe=NoProbe(), namespace=namespace, poll_interval=0.2, rollback_timeout=120)

    def spec(version: str) -> DeploySpec:
        return DeploySpec(
            "bench",
            "bench",
            version * 40,
            "registry.test/bench",
            "sha256:" + version * 64,
            manifests=tuple(bundle(namespace, objects, version)),
        )

    figures: dict[str, float] = {}
    for step, version in (("deploy", "1"), ("update", "2")):
        started, before = time.monotonic(), target.api.request_count
        target.apply(spec(version), progress=NullProgress())
        state = target.wait_ready(spec(version), timeout=120, progress=NullProgress())
        assert state.ready, state
        figures[f"{step}_seconds"] = time.monotonic() - started
        figures[f"{step}_requests"] = target.api.request_count - before
    started, before = time.monotonic(), target.api.request_count
    state = target.rollback("bench", "bench", to={"release": "1" * 40}, progress=NullProgress())
    assert state.ready, state
    figures["rollback_seconds"] = time.monotonic() - started
    figures["rollback_requests"] = target.api.request_count - before
    return figures


def kubectl_round(standin: Any, namespace: str, objects: int) -> float:
    import yaml

    assert standin.kubectl("create", "namespace", namespace).returncode == 0
    text = yaml.safe_dump_all(bundle(namespace, objects, "1"))
    started = time.monotonic()
    applied = standin.kubectl("apply", "--server-side", "-f", "-", stdin=text, timeout=120)
    assert applied.returncode == 0, applied.stderr
    status = standin.kubectl("rollout", "status", "deployment/bench", "-n", namespace, "--timeout=120s", timeout=130)
    assert status.returncode == 0, status.stderr
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from tests.kube_apiserver.harness import StandIn

    standin = StandIn.start(Path(tempfile.mkdtemp(prefix="bmad-kube-bench-")))
    rows: list[dict[str, float]] = []
    try:
        for round_ in range(args.rounds):
            figures = bmad_round(standin, f"bench-bmad-{round_}", args.objects)
            figures["kubectl_seconds"] = kubectl_round(standin, f"bench-kubectl-{round_}", args.objects)
            rows.append(figures)
            print(" ".join(f"{k}={v:.2f}" if "seconds" in k else f"{k}={int(v)}" for k, v in figures.items()))
    finally:
        standin.stop()
    bmad = statistics.median(r["deploy_seconds"] for r in rows)
    kubectl = statistics.median(r["kubectl_seconds"] for r in rows)
    ratio = bmad / kubectl if kubectl else float("inf")
    print(f"median deploy: bmad {bmad:.2f}s, kubectl {kubectl:.2f}s, ratio {ratio:.2f} (goal <= {GOAL_RATIO})")
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

"""Controllers as ``kubectl rollout`` sees them (texts from kubectl's rollout status viewers,
k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go)."""

from __future__ import annotations

import json
import time

from tests.kube_apiserver.harness import StandIn
from tests.kube_apiserver.manifests import daemonset, deployment, statefulset


def _apply(standin: StandIn, manifest: str) -> None:
    result = standin.kubectl("apply", "--server-side", "-f", "-", stdin=manifest)
    assert result.returncode == 0, result.stderr


def test_rollout_status_waits_for_min_ready_seconds(standin: StandIn) -> None:
    _apply(standin, deployment("roll", replicas=4, min_ready=100))
    status = standin.kubectl("rollout", "status", "deploy/roll", "--timeout=30s")
    assert status.returncode == 0, status.stderr
    assert "of 4 updated replicas are available...\n" in status.stdout
    assert status.stdout.endswith('deployment "roll" successfully rolled out\n')


def test_rolling_update_keeps_surge_and_availability_bounds(standin: StandIn) -> None:
    _apply(standin, deployment("bounded", replicas=4, max_surge="1", max_unavailable="0"))
    assert standin.kubectl("rollout", "status", "deploy/bounded", "--timeout=30s").returncode == 0
    _apply(standin, deployment("bounded", replicas=4, max_surge="1", max_unavailable="0", image="hello:2"))
    seen: list[tuple[int, int]] = []

    def sample() -> bool:
        obj = standin.get("/apis/apps/v1/namespaces/default/deployments/bounded")
        status = obj["status"]
        seen.append((status.get("replicas", 0), status.get("availableReplicas", 0)))
        return bool(
            obj["metadata"]["generation"] == status.get("observedGeneration")
            and status.get("updatedReplicas") == 4
            and status.get("availableReplicas") == 4
            and status.get("replicas") == 4
        )

    assert standin.wait_for(sample, timeout=30)
    assert all(total <= 5 for total, _ in seen), seen
    assert all(available >= 4 for _, available in seen), seen


def test_rollout_undo_goes_back_to_the_previous_template(standin: StandIn) -> None:
    _apply(standin, deployment("undo", image="hello:1"))
    assert standin.kubectl("rollout", "status", "deploy/undo", "--timeout=30s").returncode == 0
    _apply(standin, deployment("undo", image="hello:2"))
    assert standin.kubectl("rollout", "status", "deploy/undo", "--timeout=30s").returncode == 0
    undo = standin.kubectl("rollout", "undo", "deploy/undo")
    assert undo.returncode == 0 and undo.stdout == "deployment.apps/undo rolled back\n"
    assert standin.kubectl("rollout", "status", "deploy/undo", "--timeout=30s").returncode == 0
    image = standin.kubectl("get", "deploy", "undo", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image.stdout == "hello:1"
    revision = standin.kubectl(
        "get", "deploy", "undo", "-o", "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
    )
    assert revision.stdout == "3"


def test_progress_deadline_exceeded_fails_rollout_status(standin: StandIn) -> None:
    standin.control("POST", "images", {"image": "missing:1", "behaviour": "pull-failure"})
    _apply(standin, deployment("stuck", image="missing:1", deadline=3))
    status = standin.kubectl("rollout", "status", "deploy/stuck", "--timeout=30s")
    assert status.returncode == 1
    assert status.stderr.strip() == 'error: deployment "stuck" exceeded its progress deadline'

    def waiting() -> set[str]:
        pods = standin.get("/api/v1/namespaces/default/pods?labelSelector=app%3Dstuck")["items"]
        states = [s["state"].get("waiting", {}) for p in pods for s in p["status"].get("containerStatuses") or []]
        return {str(w.get("reason")) for w in states}

    assert standin.wait_for(lambda: waiting() == {"ImagePullBackOff"})


def test_statefulset_rolls_out_in_order_and_honours_partition(standin: StandIn) -> None:
    _apply(standin, statefulset("db", replicas=3))
    status = standin.kubectl("rollout", "status", "sts/db", "--timeout=30s")
    assert status.returncode == 0, status.stderr
    assert status.stdout.endswith("partitioned roll out complete: 3 new pods have been updated...\n")
    _apply(standin, statefulset("db", replicas=3, image="db:2", partition=2))
    status = standin.kubectl("rollout", "status", "sts/db", "--timeout=30s")
    assert status.stdout.endswith("partitioned roll out complete: 1 new pods have been updated...\n")
    obj = json.loads(standin.kubectl("get", "sts", "db", "-o", "json").stdout)
    assert obj["status"]["currentRevision"] != obj["status"]["updateRevision"]
    images = standin.kubectl("get", "pods", "-l", "app=db", "-o", "jsonpath={.items[*].spec.containers[0].image}")
    assert images.stdout == "db:1 db:1 db:2"


def test_daemonset_runs_one_pod_per_node(standin: StandIn) -> None:
    _apply(standin, daemonset("agent"))
    status = standin.kubectl("rollout", "status", "ds/agent", "--timeout=30s")
    assert status.returncode == 0, status.stderr
    assert status.stdout.endswith('daemon set "agent" successfully rolled out\n')
    nodes = standin.kubectl("get", "pods", "-l", "app=agent", "-o", "jsonpath={.items[*].spec.nodeName}").stdout.split()
    assert sorted(nodes) == ["node-1", "node-2", "node-3"]
    header, row = standin.kubectl("get", "ds", "agent").stdout.splitlines()
    # the columns of a real server's DaemonSet table (pkg/printers/internalversion/printers.go)
    assert header.split() == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE",
        "SELECTOR",
        "AGE",
    ]
    assert row.split()[:7] == ["agent", "3", "3", "3", "3", "3", "<none>"]


def test_kubectl_autoscale_creates_an_hpa_that_enforces_min_replicas(standin: StandIn) -> None:
    _apply(standin, deployment("auto", replicas=1))
    created = standin.kubectl("autoscale", "deploy", "auto", "--min=3", "--max=5", "--cpu=50%")
    assert created.stdout == "horizontalpodautoscaler.autoscaling/auto autoscaled\n", created.stderr
    auto = "/apis/apps/v1/namespaces/default/deployments/auto"
    assert standin.wait_for(lambda: standin.get(auto)["spec"]["replicas"] == 3, 15)


def test_hpa_follows_the_documented_algorithm(standin: StandIn) -> None:
    _apply(standin, deployment("scaled", replicas=2))
    hpa = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: scaled, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: scaled}
  minReplicas: 1
  maxReplicas: 10
  behavior:
    scaleDown: {stabilizationWindowSeconds: 1800}
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
"""
    _apply(standin, hpa)
    # 260% over 2 pods = 130% each against a 50% target: ceil(2 x 130 / 50) = 6, then 260 / 6 = 43% is stable
    standin.control("POST", "metrics", {"namespace": "default", "name": "scaled", "load": 260})
    target = "/apis/apps/v1/namespaces/default/deployments/scaled"
    hpa = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/scaled"

    def utilization() -> int:
        metrics = standin.get(hpa).get("status", {}).get("currentMetrics") or [{}]
        return int(metrics[0].get("resource", {}).get("current", {}).get("averageUtilization", -1))

    assert standin.wait_for(lambda: standin.get(target)["spec"]["replicas"] == 6, 15)
    assert standin.wait_for(lambda: utilization() == 43, 15)
    # a drop to 106 / 6 = 17% would mean 3 replicas, but the scale-down stabilization window holds 6
    standin.control("POST", "metrics", {"namespace": "default", "name": "scaled", "load": 106})
    assert standin.wait_for(lambda: utilization() == 17, 15)
    assert standin.get(target)["spec"]["replicas"] == 6
    assert standin.kubectl("get", "hpa", "scaled").stdout.splitlines()[1].split()[1:3] == ["Deployment/scaled", "cpu:"]


def test_delete_with_cascade_orphan_keeps_the_replicaset(standin: StandIn) -> None:
    _apply(standin, deployment("orphans", replicas=1))
    assert standin.kubectl("rollout", "status", "deploy/orphans", "--timeout=30s").returncode == 0
    deleted = standin.kubectl("delete", "deploy", "orphans", "--cascade=orphan")
    assert deleted.returncode == 0, deleted.stderr
    replicasets = standin.get("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dorphans")["items"]
    assert len(replicasets) == 1 and "ownerReferences" not in replicasets[0]["metadata"]


def test_hpa_scale_up_is_rate_limited_by_its_behavior_policy(standin: StandIn) -> None:
    """Guards the scale-up policies (before: the controller jumped straight to the recommendation)."""
    _apply(standin, deployment("paced", replicas=3))
    hpa = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: paced, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: paced}
  minReplicas: 3
  maxReplicas: 10
  behavior:
    scaleUp:
      policies: [{type: Pods, value: 1, periodSeconds: 1800}]
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
"""
    _apply(standin, hpa)
    # 3000 % over 3 pods recommends 10 replicas; one pod per 1800 s (18 s here) allows 4 only
    standin.control("POST", "metrics", {"namespace": "default", "name": "paced", "load": 3000})
    target = "/apis/apps/v1/namespaces/default/deployments/paced"
    assert standin.wait_for(lambda: standin.get(target)["spec"]["replicas"] == 4, 15)
    time.sleep(2)  # many syncs (every 0.15 s here) later, still one pod more than at the start
    assert standin.get(target)["spec"]["replicas"] == 4

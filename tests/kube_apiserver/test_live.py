"""Pods of an image marked ``process`` run the real example service; the API server's proxy reaches it."""

from __future__ import annotations

import sys

from tests.helpers import HELLO_APP
from tests.kube_apiserver.harness import StandIn
from tests.kube_apiserver.manifests import deployment

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: live, namespace: default}
spec:
  selector: {app: live}
  ports: [{port: 8080, targetPort: 8080}]
"""


def test_a_live_deployment_answers_through_the_service_proxy(standin: StandIn) -> None:
    standin.control(
        "POST", "images", {"image": "hello:live", "behaviour": "process", "argv": [sys.executable, str(HELLO_APP)]}
    )
    applied = standin.kubectl(
        "apply", "--server-side", "-f", "-", stdin=deployment("live", image="hello:live") + "---\n" + SERVICE
    )
    assert applied.returncode == 0, applied.stderr
    status = standin.kubectl("rollout", "status", "deploy/live", "--timeout=30s")
    assert status.returncode == 0, status.stderr
    health = standin.kubectl("get", "--raw", "/api/v1/namespaces/default/services/live:8080/proxy/health")
    assert health.returncode == 0, health.stderr
    assert health.stdout.strip() == "ok"
    refused = standin.kubectl(
        "get", "--raw", "/api/v1/namespaces/default/services/live:8080/proxy/health", context="ci"
    )
    assert refused.returncode == 1
    assert 'cannot get resource "services/proxy" in API group "" in the namespace "default"' in refused.stderr


def test_a_live_process_that_exits_crash_loops_with_its_exit_code(standin: StandIn) -> None:
    standin.control(
        "POST", "images", {"image": "hello:exits", "behaviour": "process", "argv": [sys.executable, str(HELLO_APP)]}
    )
    manifest = deployment("exits", image="hello:exits", replicas=1).replace(
        "env: [{name: MODE, value: fast}]", "env: [{name: HELLO_FAULT, value: crash}]"
    )
    assert standin.kubectl("apply", "--server-side", "-f", "-", stdin=manifest).returncode == 0
    first = "{.items[0].status.containerStatuses[0]"
    state = f"jsonpath={first}.state.waiting.reason}} {first}.lastState.terminated.exitCode}}"

    def crash_looping() -> bool:
        reason, _, code = standin.kubectl("get", "pods", "-l", "app=exits", "-o", state).stdout.partition(" ")
        return reason == "CrashLoopBackOff" and code not in ("", "0")

    assert standin.wait_for(crash_looping)


def test_hpa_reads_the_cpu_of_live_pods(standin: StandIn) -> None:
    standin.control(
        "POST", "images", {"image": "hello:cpu", "behaviour": "process", "argv": [sys.executable, str(HELLO_APP)]}
    )
    manifest = deployment("cpu", image="hello:cpu", replicas=3).replace(
        "        image: hello:cpu\n", "        image: hello:cpu\n        resources: {requests: {cpu: 500m}}\n"
    )
    hpa = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: cpu, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: cpu}
  minReplicas: 1
  maxReplicas: 5
  behavior:
    scaleDown: {stabilizationWindowSeconds: 0}
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
"""
    assert standin.kubectl("apply", "--server-side", "-f", "-", stdin=manifest + "---\n" + hpa).returncode == 0
    # idle processes use far less than half of their 500m request: the HPA scales down to its minimum
    target = "/apis/apps/v1/namespaces/default/deployments/cpu"
    assert standin.wait_for(lambda: standin.get(target)["spec"]["replicas"] == 1, 20)
    status = standin.get("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/cpu")["status"]
    assert status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] < 50

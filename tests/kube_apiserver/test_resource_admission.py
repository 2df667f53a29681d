"""PriorityClass, LimitRange, ResourceQuota, the scheduler's resource fit, NodePort Services and the
request log, each through the real kubectl (or plain HTTP for the node port) on the stand-in."""

from __future__ import annotations

import json
import sys
import urllib.request
from typing import Any

from tests.helpers import HELLO_APP, free_port
from tests.kube_apiserver.harness import StandIn


def pod(
    name: str, namespace: str, *, resources: dict[str, Any] | None = None, priority: str = "", image: str = "app:1"
) -> str:
    container = {"name": "app", "image": image, "resources": resources or {}}
    spec: dict[str, Any] = {"containers": [container], **({"priorityClassName": priority} if priority else {})}
    metadata = {"name": name, "namespace": namespace, "labels": {"app": name}}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})


def apply(standin: StandIn, text: str) -> tuple[int, str]:
    done = standin.kubectl("apply", "--server-side", "-f", "-", stdin=text)
    return done.returncode, done.stdout + done.stderr


def test_priority_class_is_served_and_required_by_pods(standin: StandIn) -> None:
    high = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: ra-high}\nvalue: 1000\n"
    assert apply(standin, high)[0] == 0
    assert "ra-high" in standin.kubectl("get", "priorityclasses.scheduling.k8s.io").stdout
    code, output = apply(standin, pod("ra-missing", "default", priority="ra-none"))
    assert code != 0 and "no PriorityClass with name ra-none was found" in output, output
    code, output = apply(standin, pod("ra-prio", "default", priority="ra-high"))
    assert code == 0, output
    assert standin.kubectl("get", "pod", "ra-prio", "-o", "jsonpath={.spec.priority}").stdout == "1000"


LIMITS = """\
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: ra-limits}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 128Mi}
    defaultRequest: {cpu: 50m, memory: 64Mi}
    max: {cpu: "1"}
    min: {cpu: 10m}
"""


def test_limit_range_fills_defaults_and_refuses_containers_outside_min_max(standin: StandIn) -> None:
    assert standin.kubectl("create", "namespace", "ra-limits").returncode == 0
    assert apply(standin, LIMITS)[0] == 0
    code, output = apply(standin, pod("plain", "ra-limits"))
    assert code == 0, output
    resources = json.loads(standin.kubectl("get", "pod", "plain", "-n", "ra-limits", "-o", "json").stdout)
    assert resources["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "128Mi"},
        "requests": {"cpu": "50m", "memory": "64Mi"},
    }
    code, output = apply(standin, pod("big", "ra-limits", resources={"limits": {"cpu": "2"}}))
    assert code != 0 and "maximum cpu usage per Container is 1, but limit is 2" in output, output
    code, output = apply(standin, pod("tiny", "ra-limits", resources={"requests": {"cpu": "5m"}}))
    assert code != 0 and "minimum cpu usage per Container is 10m, but request is 5m" in output, output


def test_resource_quota_refuses_the_pod_that_would_go_over(standin: StandIn) -> None:
    assert standin.kubectl("create", "namespace", "ra-quota").returncode == 0
    quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: ra-quota}\n"
    assert apply(standin, quota + "spec: {hard: {pods: '5', requests.cpu: '1'}}\n")[0] == 0
    asks = {"requests": {"cpu": "600m"}}
    assert apply(standin, pod("first", "ra-quota", resources=asks))[0] == 0
    code, output = apply(standin, pod("second", "ra-quota", resources=asks))
    expected = "exceeded quota: q, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1"
    assert code != 0 and expected in output, output
    code, output = apply(standin, pod("unstated", "ra-quota"))
    assert code != 0 and "failed quota: q: must specify requests.cpu" in output, output


def test_a_pod_no_node_can_hold_stays_pending_with_insufficient_cpu(standin: StandIn) -> None:
    code, output = apply(standin, pod("ra-huge", "default", resources={"requests": {"cpu": "64"}}))
    assert code == 0, output

    def message() -> str:
        status = standin.get("/api/v1/namespaces/default/pods/ra-huge").get("status", {})
        return str((status.get("conditions") or [{}])[0].get("message", ""))

    assert standin.wait_for(lambda: "3 Insufficient cpu" in message()), message()
    assert message().startswith("0/3 nodes are available: 3 Insufficient cpu.")
    assert standin.kubectl("get", "pod", "ra-huge", "-o", "jsonpath={.spec.nodeName}").stdout == ""


def test_request_log_records_method_path_and_content_type(standin: StandIn) -> None:
    standin.control("DELETE", "requests")
    apply(standin, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ra-logged, namespace: default}\n")
    entries = standin.control("GET", "requests").body["requests"]
    patch = [e for e in entries if e["method"] == "PATCH" and e["request_uri"].startswith("/api/v1/namespaces/")]
    assert patch and patch[0]["content_type"] == "application/apply-patch+yaml", entries
    assert patch[0]["request_uri"].split("?")[0] == "/api/v1/namespaces/default/configmaps/ra-logged"
    assert patch[0]["user"] == "admin" and patch[0]["code"] in (200, 201)


def test_node_port_service_reaches_a_ready_pod_from_the_host(standin: StandIn) -> None:
    argv = [sys.executable, str(HELLO_APP)]
    standin.control("POST", "images", {"image": "hello:nodeport", "behaviour": "process", "argv": argv})
    port = free_port()
    service = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: ra-web, namespace: default}\n"
        f"spec: {{type: NodePort, selector: {{app: ra-web}}, ports: [{{port: 80, nodePort: {port}}}]}}\n"
    )
    assert apply(standin, service)[0] == 0
    assert apply(standin, pod("ra-web", "default", image="hello:nodeport"))[0] == 0

    def answer() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            return ""

    assert standin.wait_for(lambda: "hello" in answer(), timeout=20), answer()
    assert standin.kubectl("delete", "service", "ra-web").returncode == 0
    assert standin.wait_for(lambda: answer() == "", timeout=5)

"""Pods as the simulated kubelet runs them: image faults, restarts, Events, logs per container."""

from __future__ import annotations

import json

from tests.kube_apiserver.harness import StandIn
from tests.kube_apiserver.manifests import CRD

TWO_CONTAINERS = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: default}}
spec:
  initContainers:
  - {{name: setup, image: "setup:1"}}
  containers:
  - {{name: app, image: "{image}"}}
  - {{name: sidecar, image: "proxy:1"}}
"""


def _pod(standin: StandIn, name: str) -> dict[str, object]:
    return standin.get(f"/api/v1/namespaces/default/pods/{name}")  # type: ignore[no-any-return]


def _waiting(standin: StandIn, name: str, container: str = "app") -> str:
    pod = _pod(standin, name)
    for state in pod.get("status", {}).get("containerStatuses", []):  # type: ignore[attr-defined]
        if state["name"] == container:
            return str(state["state"].get("waiting", {}).get("reason", ""))
    return ""


def test_crash_loop_counts_restarts_and_keeps_the_previous_log(standin: StandIn) -> None:
    standin.control("POST", "images", {"image": "crasher:1", "behaviour": "crash"})
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=TWO_CONTAINERS.format(name="crashy", image="crasher:1"))
    assert standin.wait_for(lambda: _waiting(standin, "crashy") == "CrashLoopBackOff")
    app = next(s for s in _pod(standin, "crashy")["status"]["containerStatuses"] if s["name"] == "app")  # type: ignore[index]
    assert app["restartCount"] >= 1 and app["lastState"]["terminated"]["reason"] == "Error"
    assert standin.wait_for(lambda: standin.kubectl("logs", "crashy", "-c", "app", "--previous").returncode == 0)
    previous = standin.kubectl("logs", "crashy", "-c", "app", "--previous")
    assert previous.stdout.splitlines()[-1] == "fatal: exiting with status 1"
    sidecar = standin.kubectl("logs", "crashy", "-c", "sidecar")
    assert sidecar.stdout.startswith("container sidecar started from image proxy:1")
    no_previous = standin.kubectl("logs", "crashy", "-c", "sidecar", "--previous")
    assert no_previous.returncode == 1
    assert 'previous terminated container "sidecar" in pod "crashy" not found' in no_previous.stderr
    tail = standin.kubectl("logs", "crashy", "-c", "app", "--previous", "--tail=1")
    assert tail.stdout == "fatal: exiting with status 1\n"
    unnamed = standin.kubectl("logs", "crashy")
    assert unnamed.returncode == 0  # kubectl picks the default container (the first) itself


def test_oom_killed_is_in_last_state(standin: StandIn) -> None:
    standin.control("POST", "images", {"image": "hungry:1", "behaviour": "oom"})
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=TWO_CONTAINERS.format(name="oom", image="hungry:1"))

    def last_state() -> dict[str, object]:
        statuses = _pod(standin, "oom").get("status", {}).get("containerStatuses") or [{}]  # type: ignore[attr-defined]
        return statuses[0].get("lastState", {}).get("terminated", {})  # type: ignore[no-any-return]

    assert standin.wait_for(lambda: last_state().get("reason") == "OOMKilled")
    code = "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}"
    assert standin.kubectl("get", "pod", "oom", "-o", code).stdout == "137"


def test_pull_failure_and_events(standin: StandIn) -> None:
    standin.control("POST", "images", {"image": "nowhere:1", "behaviour": "pull-failure"})
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=TWO_CONTAINERS.format(name="pull", image="nowhere:1"))
    assert standin.wait_for(lambda: _waiting(standin, "pull") == "ImagePullBackOff")
    events = standin.kubectl("get", "events", "--field-selector", "involvedObject.name=pull", "-o", "json")
    reasons = {e["reason"] for e in json.loads(events.stdout)["items"]}
    assert {"Scheduled", "Pulling", "Failed"} <= reasons
    assert standin.kubectl("get", "pod", "pull", "-o", "jsonpath={.status.phase}").stdout == "Pending"


def test_unschedulable_pod_stays_pending(standin: StandIn) -> None:
    standin.control("POST", "images", {"image": "huge:1", "behaviour": "unschedulable"})
    standin.kubectl("apply", "--server-side", "-f", "-", stdin=TWO_CONTAINERS.format(name="huge", image="huge:1"))

    def reason() -> object:
        return (_pod(standin, "huge").get("status", {}).get("conditions") or [{}])[0].get("reason")  # type: ignore[attr-defined]

    assert standin.wait_for(lambda: reason() == "Unschedulable")
    assert standin.kubectl("get", "pod", "huge", "-o", "jsonpath={.spec.nodeName}").stdout == ""


def test_pod_security_enforce_rejects_and_warns_for_workloads(standin: StandIn) -> None:
    standin.kubectl("create", "namespace", "locked")
    standin.kubectl("label", "namespace", "locked", "pod-security.kubernetes.io/enforce=restricted")
    pod = TWO_CONTAINERS.format(name="plain", image="hello:1").replace("namespace: default", "namespace: locked")
    refused = standin.kubectl("apply", "--server-side", "-f", "-", stdin=pod)
    assert refused.returncode == 1
    assert (
        'pods "plain" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false'
        in refused.stderr
    )
    from tests.kube_apiserver.manifests import deployment

    warned = standin.kubectl("apply", "--server-side", "-f", "-", stdin=deployment("plain", "locked"))
    assert warned.returncode == 0
    assert 'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in warned.stderr


def test_crd_is_served_once_established(standin: StandIn) -> None:
    created = standin.kubectl("apply", "--server-side", "-f", "-", stdin=CRD)
    assert created.returncode == 0, created.stderr
    waited = standin.kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s")
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout == "customresourcedefinition.apiextensions.k8s.io/widgets.example.com condition met\n"
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\nspec: {size: 3}\n"
    applied = standin.kubectl("apply", "--server-side", "-f", "-", stdin=widget)
    assert applied.stdout == "widget.example.com/w1 serverside-applied\n", applied.stderr
    assert standin.kubectl("get", "wd", "w1", "-o", "jsonpath={.spec.size}").stdout == "3"

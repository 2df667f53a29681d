"""The Kubernetes client's pure parts: exec credential plugins, error classes, kubectl's
rollout viewers for StatefulSets and DaemonSets, persistent-failure early stop, inventories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bmad.adapters.targets.kubernetes import daemonset_status, locate_cluster, statefulset_status
from bmad.adapters.targets.kubernetes.client import (
    Conflict,
    Credentials,
    Forbidden,
    KubeApi,
    Throttled,
    can_i,
    parse_status,
)
from bmad.adapters.targets.kubernetes.inventory import ReleaseEntry, removable
from bmad.adapters.targets.kubernetes.rollback import plan_rollback
from bmad.adapters.targets.kubernetes.rollout import EarlyStop, PersistentFailures
from bmad.config.deploy import KubernetesTargetConfig
from bmad.core.errors import AdapterError, Unreachable
from tests.helpers import serving


def exec_kubeconfig(path: Path, command: str, *, hint: str | None = None) -> Path:
    user: dict[str, Any] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": command}}
    if hint:
        user["exec"]["installHint"] = hint
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "eks-user", "user": user}],
        "contexts": [{"name": "eks", "context": {"cluster": "c", "user": "eks-user"}}],
        "current-context": "eks",
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_missing_exec_plugin_names_the_plugin_and_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # none of the cloud CLIs
    path = exec_kubeconfig(tmp_path / "k", "gke-gcloud-auth-plugin")
    with pytest.raises(Unreachable, match="'gke-gcloud-auth-plugin', which is not on PATH") as err:
        locate_cluster(KubernetesTargetConfig(kubeconfig=str(path)))
    assert err.value.hint == "gcloud components install gke-gcloud-auth-plugin"
    custom = exec_kubeconfig(tmp_path / "h", "corp-login", hint="brew install corp-login")
    with pytest.raises(Unreachable) as err:
        locate_cluster(KubernetesTargetConfig(kubeconfig=str(custom)))
    assert err.value.hint == "brew install corp-login"


def test_failing_exec_plugin_is_named(tmp_path: Path) -> None:
    script = tmp_path / "aws"
    script.write_text("#!/bin/sh\necho 'Unable to locate credentials' >&2\nexit 255\n")
    script.chmod(0o755)
    path = exec_kubeconfig(tmp_path / "k", str(script))
    with pytest.raises(Unreachable) as err:
        locate_cluster(KubernetesTargetConfig(kubeconfig=str(path)))
    assert str(script) in err.value.message and "failed" in err.value.message
    assert "by hand" in (err.value.hint or "")


def test_status_bodies_become_error_classes_with_causes() -> None:
    body = parse_status(
        '{"kind":"Status","code":409,"reason":"Conflict","message":"Apply failed with 1 conflict",'
        '"details":{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \\"flux\\"",'
        '"field":".data.owner"}],"retryAfterSeconds":3}}'
    )
    conflict = Conflict("PATCH /x", 409, body)
    assert conflict.conflicts() == ['.data.owner (conflict with "flux")']
    assert body.retry_after == 3.0
    assert Throttled("GET /x", 429, body).temporary and not Forbidden("GET /x", 403, body).temporary


@pytest.mark.parametrize(
    ("method", "path", "question"),
    [
        ("PATCH", "/apis/apps/v1/namespaces/team-a/deployments/web", "patch deployments -n team-a"),
        ("GET", "/api/v1/namespaces/team-a/pods", "list pods -n team-a"),
        ("GET", "/api/v1/namespaces/team-a/pods/web-1/log", "get pods/log -n team-a"),
        ("PATCH", "/api/v1/namespaces/team-a", "patch namespaces"),
        ("DELETE", "/api/v1/namespaces/team-a/configmaps/x", "delete configmaps -n team-a"),
    ],
)
def test_requests_are_worded_as_kubectl_auth_can_i(method: str, path: str, question: str) -> None:
    assert can_i(method, path) == question


def test_statefulset_viewer_like_kubectl() -> None:
    sts: dict[str, Any] = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 3},
        "status": {"observedGeneration": 1},
    }
    assert statefulset_status(sts) == (False, False, "Waiting for statefulset spec update to be observed...")
    sts["status"] = {"observedGeneration": 2, "readyReplicas": 2}
    assert statefulset_status(sts)[2] == "Waiting for 1 pods to be ready..."
    sts["status"].update(readyReplicas=3, updatedReplicas=1, updateRevision="r2", currentRevision="r1")
    assert statefulset_status(sts)[:2] == (False, False)
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    assert statefulset_status(sts) == (True, False, "partitioned roll out complete: 1 new pods have been updated...")


def test_daemonset_viewer_like_kubectl() -> None:
    ds: dict[str, Any] = {
        "metadata": {"name": "agent", "generation": 1},
        "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 2},
    }
    assert "2 out of 3 new pods have been updated" in daemonset_status(ds)[2]
    ds["status"].update(updatedNumberScheduled=3, numberAvailable=3)
    assert daemonset_status(ds) == (True, False, 'daemon set "agent" successfully rolled out')


def _pod(reason: str, restarts: int = 0) -> dict[str, Any]:
    status = {"state": {"waiting": {"reason": reason}}, "restartCount": restarts}
    return {"metadata": {"name": "p"}, "status": {"containerStatuses": [status]}}


def test_only_persistent_pod_failures_stop_a_rollout_early() -> None:
    now = [0.0]
    failures = PersistentFailures(EarlyStop(image_pull_seconds=30, crash_restarts=3), lambda: now[0])
    assert failures.check([_pod("ErrImagePull")]) == []  # registry throttling heals: wait
    now[0] = 29.0
    assert failures.check([_pod("ImagePullBackOff")]) == []
    now[0] = 31.0
    assert failures.check([_pod("ImagePullBackOff")]) == [("ImagePullBackOff", "p")]
    assert failures.check([_pod("CrashLoopBackOff", restarts=2)]) == []
    assert failures.check([_pod("CrashLoopBackOff", restarts=3)]) == [("CrashLoopBackOff", "p")]


def _entry(release: str, *names: str) -> ReleaseEntry:
    return ReleaseEntry.of(release, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}} for n in names])


def test_rollback_plan_and_what_a_release_added() -> None:
    a, b = _entry("a", "settings"), _entry("b", "settings", "extra")
    plan = plan_rollback([a, b], {"release": "a"})
    assert plan is not None and plan.entry == a and plan.failed == b
    assert [r.name for r in removable(b, a)] == ["extra"]
    assert plan_rollback([a, b], None) == plan  # the previous release
    assert plan_rollback([a, b], {"release": "zzz"}) is None  # nothing stored: the caller falls back
    namespace = ReleaseEntry.of("c", [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}])
    assert removable(namespace, a) == []  # namespaces are never deleted


def test_pod_security_rejections_name_the_policy_not_limit_ranges() -> None:
    from bmad.adapters.targets.kubernetes.diagnose import replicaset_findings

    message = (
        'pods "web-1" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
        '(container "app" must set securityContext.allowPrivilegeEscalation=false)'
    )
    rs = {
        "metadata": {"name": "web-abc"},
        "status": {
            "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": message}]
        },
    }
    [finding] = replicaset_findings([rs], "team-a")
    assert finding.symptom == "Pods rejected by PodSecurity admission"
    assert 'PodSecurity policy "restricted:latest": allowPrivilegeEscalation != false' in finding.causes[0]
    assert not any("LimitRange" in c for c in finding.causes)


def test_inventory_fits_a_configmap() -> None:
    import json

    from bmad.adapters.targets.kubernetes.inventory import fitting

    big = [
        ReleaseEntry.of(
            r, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "y" * 400}}]
        )
        for r in "abc"
    ]
    kept = json.loads(fitting(big, limit=1300))
    assert [e["release"] for e in kept] == ["b", "c"]  # the oldest dropped first
    alone = json.loads(fitting(big[-1:], limit=300))
    assert alone[0]["release"] == "c" and alone[0]["bundle"] == [] and alone[0]["objects"]
    assert plan_rollback([ReleaseEntry.from_dict(alone[0]), _entry("d", "c")], {"release": "c"}) is None


def test_an_answer_that_is_not_json_names_the_address_not_a_decode_error() -> None:
    """A sign-in gateway in front of the API server answers 200 with an HTML page. Before, requests'
    JSONDecodeError left the client (the check that asked reported a bug of its own)."""
    page = b"<!doctype html><title>Sign in</title><form>...</form>"
    with serving(page, "text/html; charset=utf-8") as host, pytest.raises(AdapterError) as refused:
        KubeApi(Credentials(host=host, identity="ci"), retries=0).request("GET", "/api/v1/namespaces/team-a/pods")
    assert str(refused.value) == (
        "kubernetes: GET /api/v1/namespaces/team-a/pods failed: the answer (status 200, text/html) is not JSON"
    )
    assert host in (refused.value.hint or "") and "cluster-info" in (refused.value.hint or "")

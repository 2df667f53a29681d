"""bmad's Kubernetes target against the faithful API stand-in: restricted credentials, co-owned
fields, HPAs, throttling, CRDs, every workload kind, whole-release rollback, sidecar diagnose.

Each test fails against the single-module target it replaced (see issue 12)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from bmad.core.errors import AdapterError
from bmad.ports.progress import NullProgress
from tests.adapters.targets.kubernetes.conftest import (
    DIGEST,
    REPOSITORY,
    config_map,
    deployment,
    hpa,
    live,
    make_target,
    release,
)
from tests.kube_apiserver.harness import StandIn

NS = "team-a"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"


def deploy(target: Any, spec: Any, timeout: float = 30) -> Any:
    target.apply(spec, progress=NullProgress())
    return target.wait_ready(spec, timeout=timeout, progress=NullProgress())


def test_namespace_limited_identity_deploys_without_cluster_rights(standin: StandIn) -> None:
    target = make_target(standin, context="ci")  # the ci context names team-a; no Namespace in the bundle
    spec = release("a" * 40, [config_map("ci-settings", {"mode": "1"}), deployment("ci-app")])
    applied = target.apply(spec, progress=NullProgress())
    assert target.namespace == NS
    assert "Namespace/team-a" not in applied["applied"]
    state = target.wait_ready(spec, timeout=30, progress=NullProgress())
    assert state.ready, state
    image = live(standin, f"{DEPLOYMENTS}/ci-app")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{REPOSITORY}@{DIGEST}"


def test_missing_namespace_is_named_before_anything_is_applied(standin: StandIn) -> None:
    target = make_target(standin, context="admin", namespace="nowhere")
    with pytest.raises(AdapterError, match="namespace nowhere does not exist") as err:
        target.apply(release("a" * 40, [deployment("x")]), progress=NullProgress())
    assert "create_namespace" in (err.value.hint or "")


def test_conflict_with_another_field_manager_is_reported_then_forced(standin: StandIn) -> None:
    other = config_map("shared", {"owner": "flux"})
    other["metadata"]["namespace"] = NS
    answer = standin.request(
        "PATCH",
        f"{CONFIGMAPS}/shared?fieldManager=flux&force=false",
        other,
        content_type="application/apply-patch+yaml",
    )
    assert answer.status in (200, 201), answer.body
    bundle = [config_map("before", {"k": "v"}), config_map("shared", {"owner": "bmad"}), deployment("conflicted")]
    target = make_target(standin, context="ci")
    with pytest.raises(AdapterError) as err:
        target.apply(release("b" * 40, bundle), progress=NullProgress())
    assert err.value.status == 409
    assert "ConfigMap/shared" in err.value.message and ".data.owner" in err.value.message
    assert "flux" in err.value.message and "force_conflicts" in (err.value.hint or "")
    assert live(standin, f"{CONFIGMAPS}/before") is None  # nothing applied
    assert live(standin, f"{CONFIGMAPS}/shared")["data"] == {"owner": "flux"}

    forced = make_target(standin, context="ci", force_conflicts=True)
    state = deploy(forced, release("b" * 40, bundle))
    assert state.ready, state
    assert live(standin, f"{CONFIGMAPS}/shared")["data"] == {"owner": "bmad"}


def test_hpa_owned_replica_count_is_kept(standin: StandIn) -> None:
    target = make_target(standin, context="ci")
    bundle = [deployment("scaled", replicas=2), hpa("scaled")]
    assert deploy(target, release("a" * 40, bundle)).ready
    scaled = standin.kubectl("scale", "deployment/scaled", "-n", NS, "--replicas=4")
    assert scaled.returncode == 0, scaled.stderr
    second = make_target(standin, context="ci")
    state = deploy(second, release("b" * 40, [deployment("scaled", replicas=2, env={"V": "2"}), hpa("scaled")]))
    assert state.ready, state
    assert live(standin, f"{DEPLOYMENTS}/scaled")["spec"]["replicas"] == 4


def test_throttling_during_the_rollout_is_retried_not_a_failure(standin: StandIn) -> None:
    target = make_target(standin, context="ci")
    spec = release("a" * 40, [deployment("throttled")])
    target.apply(spec, progress=NullProgress())
    rules = [
        {"kind": "429", "path": "/deployments|/pods", "method": "GET", "every": 2, "retryAfter": 1},
        {"kind": "503", "path": "/pods", "method": "GET", "every": 3},
    ]
    standin.control("POST", "faults", {"rules": rules})
    try:
        state = target.wait_ready(spec, timeout=40, progress=NullProgress())
    finally:
        standin.control("DELETE", "faults")
    assert state.ready and not state.failed, state


def _crd() -> dict[str, Any]:
    spec = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema = {"type": "object", "properties": {"spec": spec}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }


def test_crd_and_its_custom_resources_in_one_bundle(standin: StandIn) -> None:
    widgets = [
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": n}, "spec": {"size": i}}
        for i, n in enumerate(("small", "large"))
    ]
    target = make_target(standin, context="admin", namespace=NS)
    applied = target.apply(release("a" * 40, [*widgets, deployment("crd-app"), _crd()]), progress=NullProgress())
    assert applied["applied"][0] == "CustomResourceDefinition/widgets.example.com"
    for name in ("small", "large"):
        assert live(standin, f"/apis/example.com/v1/namespaces/{NS}/widgets/{name}") is not None


def _statefulset() -> dict[str, Any]:
    labels = {"app": "db"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db",
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "db", "image": "db:1"}]}},
        },
    }


def _daemonset() -> dict[str, Any]:
    labels = {"app": "agent"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a", "image": "agent:1"}]}},
        },
    }


def test_statefulset_and_daemonset_are_waited_for(standin: StandIn) -> None:
    target = make_target(standin, context="ci")
    spec = release("a" * 40, [deployment("web"), _statefulset(), _daemonset()])
    target.config = dataclasses.replace(target.config, deployment="web")
    state = deploy(target, spec)
    assert state.ready, state
    assert "statefulset rolling update complete" in state.message or "partitioned" in state.message, state
    assert 'daemon set "agent" successfully rolled out' in state.message
    sts = live(standin, f"/apis/apps/v1/namespaces/{NS}/statefulsets/db")
    assert sts["status"]["readyReplicas"] == 2
    bad = [deployment("web"), _statefulset(), _daemonset()]
    bad[2]["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:missing"
    standin.control("POST", "images", {"image": "agent:missing", "behaviour": "crash"})
    failed = deploy(make_target(standin, context="ci", deployment="web"), release("b" * 40, bad), timeout=60)
    assert failed.failed and failed.reason == "CrashLoopBackOff", failed


def test_rollback_restores_the_previous_configmap_and_deletes_what_the_release_added(standin: StandIn) -> None:
    good = [config_map("rb-settings", {"greeting": "hello"}), deployment("rb")]
    target = make_target(standin, context="ci", deployment="rb")
    assert deploy(target, release("a" * 40, good)).ready
    before = target.snapshot("app", "test").to_dict()
    bad = [config_map("rb-settings", {"greeting": "broken"}), config_map("rb-extra", {"x": "1"}), deployment("rb")]
    failing = make_target(standin, context="ci", deployment="rb")
    assert deploy(failing, release("b" * 40, bad)).ready
    assert live(standin, f"{CONFIGMAPS}/rb-settings")["data"] == {"greeting": "broken"}
    state = failing.rollback("app", "test", to=before, progress=NullProgress())
    assert state.ready, state
    assert live(standin, f"{CONFIGMAPS}/rb-settings")["data"] == {"greeting": "hello"}
    assert live(standin, f"{CONFIGMAPS}/rb-extra") is None


def test_sidecar_pod_diagnose_shows_every_containers_logs(standin: StandIn, tmp_path: Path) -> None:
    target = make_target(standin, context="ci", deployment="sidecar")
    spec = release("c" * 40, [deployment("sidecar", replicas=1, containers=2)], digest="sha256:" + "3" * 64)
    standin.control("POST", "images", {"image": f"{REPOSITORY}@sha256:{'3' * 64}", "behaviour": "crash"})
    state = deploy(target, spec, timeout=60)
    assert state.failed and state.reason == "CrashLoopBackOff", state
    findings = target.diagnose("app", "test")
    crash = next(f for f in findings if f.symptom == "CrashLoopBackOff")
    assert any(line.startswith("log: [app] ") for line in crash.evidence), crash.evidence
    assert any(line.startswith("log: [sidecar1] ") for line in crash.evidence), crash.evidence


def test_server_dry_run_of_a_release_that_creates_its_namespace(standin: StandIn) -> None:
    from bmad.adapters.kube_validate import ServerDryRun

    target = make_target(standin, context="admin", namespace="fresh")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}}
    objects = [namespace, config_map("settings", {"a": "1"}), deployment("fresh-app")]
    runner = ServerDryRun(lambda: target.api, namespace=lambda: target.namespace)
    assert runner.dry_run(objects) == []
    assert runner.deferred == [(1, "server dry-run after the namespace exists")] * 1 + [
        (2, "server dry-run after the namespace exists")
    ]
    assert live(standin, "/api/v1/namespaces/fresh") is None  # a dry-run stores nothing


def test_server_dry_run_uses_the_kubeconfig_contexts_namespace(standin: StandIn) -> None:
    from bmad.adapters.kube_validate import ServerDryRun

    target = make_target(standin, context="ci")  # no namespace in bmad.yaml: the context names team-a
    elsewhere = config_map("elsewhere", {"a": "1"})
    elsewhere["metadata"]["namespace"] = "default"  # outside what ci may write
    runner = ServerDryRun(lambda: target.api, namespace=lambda: target.namespace)
    failures = runner.dry_run([config_map("good", {"a": "1"}), elsewhere])
    assert [i for i, _ in failures] == [1], failures
    assert 'cannot patch resource "configmaps"' in failures[0][1]


def test_forbidden_names_the_identity_and_the_right_as_kubectl_auth_can_i(standin: StandIn) -> None:
    target = make_target(standin, context="ci", namespace="default")
    with pytest.raises(AdapterError) as err:
        target.apply(release("a" * 40, [config_map("x", {"a": "1"}), deployment("x")]), progress=NullProgress())
    assert err.value.status == 403
    assert 'user "ci" of context "ci"' in (err.value.hint or "")
    assert "kubectl auth can-i" in (err.value.hint or "") and "-n default" in (err.value.hint or ""), err.value.hint
    assert live(standin, f"{CONFIGMAPS}/good") is None


def test_prune_deletes_what_the_bundle_dropped_after_a_successful_rollout(standin: StandIn) -> None:
    first = [config_map("pr-keep", {"a": "1"}), config_map("pr-old", {"a": "1"}), deployment("pr")]
    assert deploy(make_target(standin, context="ci", deployment="pr", prune=True), release("a" * 40, first)).ready
    second = [config_map("pr-keep", {"a": "2"}), deployment("pr")]
    kept = make_target(standin, context="ci", deployment="pr")  # prune off: nothing deleted
    assert deploy(kept, release("b" * 40, second)).ready
    assert live(standin, f"{CONFIGMAPS}/pr-old") is not None
    pruning = make_target(standin, context="ci", deployment="pr", prune=True)
    assert pruning.prune_preview(release("c" * 40, second)) == ["ConfigMap/pr-old"]
    assert deploy(pruning, release("c" * 40, second)).ready
    assert live(standin, f"{CONFIGMAPS}/pr-old") is None
    assert live(standin, f"{CONFIGMAPS}/pr-keep")["data"] == {"a": "2"}


def test_access_preflight_names_each_missing_right(standin: StandIn) -> None:
    spec = release("a" * 40, [config_map("settings", {"a": "1"}), deployment("pre")])
    assert make_target(standin, context="ci", deployment="pre").missing_rights(spec) == []
    readonly = make_target(standin, context="readonly", namespace=NS, deployment="pre").missing_rights(spec)
    assert "patch deployments.apps -n team-a" in readonly and "create configmaps -n team-a" in readonly
    assert "list pods -n team-a" not in readonly
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    with_namespace = release("a" * 40, [namespace, deployment("pre")])
    ci = make_target(standin, context="ci", deployment="pre").missing_rights(with_namespace)
    assert "patch namespaces" in ci, ci


def test_a_statefulset_release_is_rolled_back_as_a_whole(standin: StandIn) -> None:
    from tests.adapters.targets.kubernetes.conftest import BAD_DIGEST

    target = make_target(standin, context="ci", deployment="db")
    assert deploy(target, release("a" * 40, [config_map("db-conf", {"v": "1"}), _statefulset()])).ready
    before = target.snapshot("app", "test").to_dict()
    assert before["exists"] and before["release"] == "a" * 40
    standin.control("POST", "images", {"image": f"{REPOSITORY}@{BAD_DIGEST}", "behaviour": "crash"})
    failing = make_target(standin, context="ci", deployment="db")
    bad = release("b" * 40, [config_map("db-conf", {"v": "2"}), _statefulset()], digest=BAD_DIGEST)
    state = deploy(failing, bad, timeout=60)
    assert state.failed and state.reason == "CrashLoopBackOff", state
    restored = failing.rollback("app", "test", to=before, progress=NullProgress())
    assert restored.ready, restored
    assert live(standin, f"{CONFIGMAPS}/db-conf")["data"] == {"v": "1"}
    pods = live(standin, f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Ddb")["items"]
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {f"{REPOSITORY}@{DIGEST}"}


def test_objects_a_gitops_controller_manages_are_refused_unless_their_kind_is_allowed(standin: StandIn) -> None:
    argo = config_map("argo-owned", {"a": "1"})
    argo["metadata"].update(namespace=NS, annotations={"argocd.argoproj.io/tracking-id": "shop:/ConfigMap:team-a/x"})
    answer = standin.request(
        "PATCH",
        f"{CONFIGMAPS}/argo-owned?fieldManager=argocd-controller",
        argo,
        content_type="application/apply-patch+yaml",
    )
    assert answer.status in (200, 201), answer.body
    bundle = [config_map("argo-owned", {"a": "2"}), deployment("gitops")]
    with pytest.raises(AdapterError, match=r"GitOps controller.*ConfigMap/argo-owned \(Argo CD") as err:
        make_target(standin, context="ci", force_conflicts=True).apply(
            release("a" * 40, bundle), progress=NullProgress()
        )
    assert "gitops_allowed_kinds" in (err.value.hint or "")
    allowed = make_target(standin, context="ci", force_conflicts=True, gitops_allowed_kinds=["ConfigMap"])
    assert deploy(allowed, release("a" * 40, bundle)).ready


def test_throttled_applies_are_retried_after_the_servers_retry_after(standin: StandIn) -> None:
    target = make_target(standin, context="ci", deployment="retried")
    slept: list[float] = []
    target.api._sleep = slept.append  # record the back-off instead of waiting it
    rules = [{"kind": "429", "path": "/configmaps/retried", "method": "PATCH", "times": 2, "retryAfter": 2}]
    standin.control("POST", "faults", {"rules": rules})
    try:
        target.apply(
            release("a" * 40, [config_map("retried", {"a": "1"}), deployment("retried")]), progress=NullProgress()
        )
    finally:
        standin.control("DELETE", "faults")
    assert slept == [2.0, 2.0]
    assert live(standin, f"{CONFIGMAPS}/retried")["data"] == {"a": "1"}


def test_rollouts_are_watched_and_the_watch_resumes_after_410(standin: StandIn) -> None:
    import threading
    import time

    from bmad.adapters.targets.kubernetes.informer import Informer

    target = make_target(standin, context="ci", deployment="watched")
    spec = release("a" * 40, [deployment("watched", replicas=3)])
    target.apply(spec, progress=NullProgress())
    before = target.api.request_count
    assert target.wait_ready(spec, timeout=30, progress=NullProgress()).ready
    assert target.api.request_count - before <= 4  # a list and a watch per kind (Deployments, Pods)

    class LateWatch(Informer):  # lists now, watches only after the history it listed was compacted
        def _run(self) -> None:
            time.sleep(0.5)
            super()._run()

    changed = threading.Event()
    informer = LateWatch(target.api, CONFIGMAPS, changed).start()
    try:
        assert standin.kubectl("create", "configmap", "after-the-list", "-n", NS).returncode == 0
        standin.control("POST", "compact")
        seen = standin.wait_for(lambda: any(o["metadata"]["name"] == "after-the-list" for o in informer.items()))
        assert seen and informer.relists >= 1 and not informer.unsupported
    finally:
        informer.stop()

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

    readonly = service(tmp_path, standin, "ro")  # bmad.yaml names ci; the command line wins (--context)
    readonly.release([config_map("ro-settings", {"mode": "1"}), deployment("ro")], "first release")
    refused = readonly.run(digest("1"), "--set", "context=readonly", "--set", f"namespace={NS}")
    assert refused.code != 0, refused.explain()
    access = refused.check("analyze.access")
    assert access["status"] == "fail", refused.explain()
    assert "kubectl auth can-i patch deployments.apps -n team-a: no" in access["observed"], access
    assert "kubectl auth can-i create configmaps -n team-a: no" in access["observed"], access
    assert not refused.check("deploy.apply"), "DEPLOY must not start after a failed ANALYZE"
    assert live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/ro") is None
    assert live(standin, f"/api/v1/namespaces/{NS}/configmaps/ro-settings") is None


def rolled_back(outcome: Any) -> bool:
    return bool(outcome.phase("deploy").get("metrics", {}).get("rolled_back"))


def test_b_a_release_whose_configmap_breaks_the_service_is_rolled_back_with_the_old_configmap(
    tmp_path: Path, standin: StandIn
) -> None:
    """(b) The whole release is rolled back: the ConfigMap too, so the pods run with the old one again.
    Before issue 12 only the pod template was restored and the bad ConfigMap stayed."""
    svc = service(tmp_path, standin, "cfg")
    good = [config_map("cfg-settings", {"greeting": "hello"}), deployment("cfg", annotations={"config": "hello"})]
    svc.release(good, "good settings")
    assert svc.run(digest("1")).code == 0
    # the new greeting makes the service crash at start (its image reads the setting)
    standin.control("POST", "images", {"image": f"{REPOSITORY}@{digest('b')}", "behaviour": "crash"})
    bad = [config_map("cfg-settings", {"greeting": "broken"}), deployment("cfg", annotations={"config": "broken"})]
    svc.release(bad, "broken settings")
    outcome = svc.run(digest("b"))
    assert outcome.code != 0, outcome.explain()
    assert outcome.check("deploy.rollout")["status"] == "fail", outcome.explain()
    assert rolled_back(outcome), outcome.explain()
    assert live(standin, f"/api/v1/namespaces/{NS}/configmaps/cfg-settings")["data"] == {"greeting": "hello"}
    live_deployment = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/cfg")
    template = live_deployment["spec"]["template"]
    assert template["metadata"]["annotations"]["config"] == "hello"
    assert template["spec"]["containers"][0]["image"] == f"{REPOSITORY}@{digest('1')}"
    assert live_deployment["status"].get("readyReplicas") == 2, live_deployment["status"]


def hpa(target: str) -> dict[str, Any]:
    metric = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 2,
            "maxReplicas": 6,
            "metrics": [metric],
        },
    }


def test_c_a_deployment_an_hpa_scales_keeps_its_replica_count_through_deploy_and_rollback(
    tmp_path: Path, standin: StandIn
) -> None:
    """(c) ``spec.replicas`` is never applied to a workload an HPA targets, nor restored by rollback.
    Before issue 12 every apply and every rollback set the bundle's (or the snapshot's) count."""
    svc = service(tmp_path, standin, "scaled")
    svc.release([deployment("scaled", replicas=2), hpa("scaled")], "first")
    assert svc.run(digest("1")).code == 0
    scaled = standin.kubectl("scale", "deployment/scaled", "-n", NS, "--replicas=4")  # what the HPA decided
    assert scaled.returncode == 0, scaled.stderr
    svc.release([deployment("scaled", replicas=2, annotations={"v": "2"}), hpa("scaled")], "second")
    second = svc.run(digest("1"))
    assert second.code == 0, second.explain()
    assert live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/scaled")["spec"]["replicas"] == 4
    standin.control("POST", "images", {"image": f"{REPOSITORY}@{digest('c')}", "behaviour": "crash"})
    svc.release([deployment("scaled", replicas=2, annotations={"v": "3"}), hpa("scaled")], "third")
    third = svc.run(digest("c"))
    assert third.code != 0 and rolled_back(third), third.explain()
    back = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/scaled")
    assert back["spec"]["replicas"] == 4
    assert back["spec"]["template"]["metadata"]["annotations"]["v"] == "2"


def test_d_a_field_another_manager_owns_is_a_reported_conflict_until_force_conflicts(
    tmp_path: Path, standin: StandIn
) -> None:
    """(d) Server-side apply without force: the 409 names the field and its manager, nothing is applied;
    ``--force-conflicts`` (``force_conflicts: true`` in bmad.yaml) then takes the field. Before issue 12
    every apply forced silently."""
    shared = config_map("owned-shared", {"owner": "flux"})
    shared["metadata"]["namespace"] = NS
    answer = standin.request(
        "PATCH",
        f"/api/v1/namespaces/{NS}/configmaps/owned-shared?fieldManager=flux&force=false",
        shared,
        content_type="application/apply-patch+yaml",
    )
    assert answer.status in (200, 201), answer.body
    svc = service(tmp_path, standin, "owned")
    svc.release(
        [config_map("owned-first", {"a": "1"}), config_map("owned-shared", {"owner": "bmad"}), deployment("owned")],
        "r1",
    )
    refused = svc.run(digest("1"))
    assert refused.code != 0, refused.explain()
    manifests = refused.check("analyze.manifests")
    assert manifests["status"] == "fail", refused.explain()
    assert 'conflict with "flux"' in manifests["observed"] and ".data.owner" in manifests["observed"], manifests
    assert not refused.check("deploy.apply")
    assert live(standin, f"/api/v1/namespaces/{NS}/configmaps/owned-first") is None
    assert live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/owned") is None

    forced = svc.run(digest("1"), "--set", "force_conflicts=true")  # what --force-conflicts sets
    assert forced.code == 0, forced.explain()
    assert live(standin, f"/api/v1/namespaces/{NS}/configmaps/owned-shared")["data"] == {"owner": "bmad"}
    assert forced.check("deploy.apply")["evidence"]["applied"]["force_conflicts"] is True, forced.explain()


def crd() -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }


def test_e_a_bundle_with_a_crd_and_two_custom_resources(tmp_path: Path, standin: StandIn) -> None:
    """(e) The CRD is applied first and waited for, then its resources; ANALYZE defers their dry-run with a
    warning. Before issue 12 every kind was looked up before anything was applied: the bundle failed."""
    svc = service(tmp_path, standin, "gadgets", context="admin", namespace=NS)
    gadgets = [
        {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": n}, "spec": {"size": i}}
        for i, n in enumerate(("small", "large"))
    ]
    svc.release([*gadgets, deployment("gadgets"), crd()], "gadgets")
    outcome = svc.run(digest("1"))
    assert outcome.code == 0, outcome.explain()
    manifests = outcome.check("analyze.manifests")
    assert manifests["status"] == "warn", outcome.explain()
    assert "server dry-run after the CRD is established" in manifests["observed"], manifests
    assert "2 deferred" in manifests["summary"], manifests
    for name in ("small", "large"):
        assert live(standin, f"/apis/example.com/v1/namespaces/{NS}/gadgets/{name}") is not None


def statefulset(name: str, *, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    workload = deployment(name, annotations=annotations)
    workload["kind"] = "StatefulSet"
    workload["spec"]["serviceName"] = name
    return workload


def daemonset(name: str) -> dict[str, Any]:
    workload = deployment(name, replicas=None)
    workload["kind"] = "DaemonSet"
    workload["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.test/agent:1"
    return workload


def test_f_a_statefulset_and_a_daemonset_release(tmp_path: Path, standin: StandIn) -> None:
    """(f) Both are waited for as kubectl's viewers read them. Before issue 12 only a Deployment was."""
    svc = service(tmp_path, standin, "db")
    svc.release([statefulset("db"), daemonset("db-agent")], "first")
    outcome = svc.run(digest("1"))
    assert outcome.code == 0, outcome.explain()
    rollout = outcome.check("deploy.rollout")
    assert rollout["status"] == "pass", outcome.explain()
    assert live(standin, f"/apis/apps/v1/namespaces/{NS}/statefulsets/db")["status"]["readyReplicas"] == 2
    agent = live(standin, f"/apis/apps/v1/namespaces/{NS}/daemonsets/db-agent")["status"]
    assert agent["numberReady"] == agent["desiredNumberScheduled"] >= 1, agent
    # a broken StatefulSet pod is not replaced by reverting its template: the rollback deletes it
    standin.control("POST", "images", {"image": f"{REPOSITORY}@{digest('f')}", "behaviour": "crash"})
    svc.release([statefulset("db", annotations={"v": "2"}), daemonset("db-agent")], "broken database")
    failed = svc.run(digest("f"))
    assert failed.code != 0 and failed.check("deploy.rollout")["status"] == "fail", failed.explain()
    assert rolled_back(failed), failed.explain()
    restored = live(standin, f"/apis/apps/v1/namespaces/{NS}/statefulsets/db")
    assert restored["spec"]["template"]["spec"]["containers"][0]["image"] == f"{REPOSITORY}@{digest('1')}"
    assert restored["status"]["readyReplicas"] == 2, restored["status"]


def test_g_a_429_storm_during_the_rollout_does_not_roll_back(tmp_path: Path, standin: StandIn) -> None:
    """(g) 429 (with Retry-After) and 503 are retried within the rollout's deadline. Before issue 12 one
    of them while polling was a deploy.rollout failure and rolled a healthy release back."""
    svc = service(tmp_path, standin, "storm")
    svc.release([deployment("storm")], "first")
    assert svc.run(digest("1")).code == 0
    svc.release([deployment("storm", annotations={"v": "2"})], "second")
    rules = [
        {"kind": "429", "path": "/deployments|/pods|/replicasets", "method": "GET", "every": 2, "retryAfter": 1},
        {"kind": "503", "path": "/pods", "method": "GET", "every": 3},
    ]
    standin.control("POST", "faults", {"rules": rules})
    try:
        outcome = svc.run(digest("1"))
    finally:
        standin.control("DELETE", "faults")
    assert outcome.code == 0, outcome.explain()
    assert outcome.check("deploy.rollout")["status"] == "pass", outcome.explain()
    assert not rolled_back(outcome)
    live_deployment = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/storm")
    assert live_deployment["spec"]["template"]["metadata"]["annotations"]["v"] == "2"


def test_h_diagnose_shows_both_containers_logs_of_a_pod_whose_sidecar_crash_loops(
    tmp_path: Path, standin: StandIn
) -> None:
    """(h) Logs are read per container. Before issue 12 they were fetched without ``container``: a pod with
    a sidecar answered 400 and diagnose showed no logs."""
    svc = service(tmp_path, standin, "meshed")
    workload = deployment("meshed", replicas=1)
    sidecar = {"name": "proxy", "image": "registry.test/proxy:1"}
    workload["spec"]["template"]["spec"]["containers"].append(sidecar)
    standin.control("POST", "images", {"image": "registry.test/proxy:1", "behaviour": "crash"})
    svc.release([workload], "first")
    outcome = svc.run(digest("1"))
    assert outcome.code != 0 and outcome.check("deploy.rollout")["status"] == "fail", outcome.explain()
    report = svc.diagnose()
    assert report.code == 1, report.explain()
    crash = next(f for f in report.document["findings"] if f["symptom"] == "CrashLoopBackOff")
    assert any(line.startswith("log: [app] ") for line in crash["evidence"]), crash["evidence"]
    assert any(line.startswith("log: [proxy] ") for line in crash["evidence"]), crash["evidence"]


def test_a_release_that_creates_its_namespace_and_prunes_what_the_next_one_drops(
    tmp_path: Path, standin: StandIn
) -> None:
    """ANALYZE's dry-run of objects in a namespace the release creates is deferred with a warning (it
    would get 404: the Namespace's dry-run is not stored, kubernetes#83562), not a critical failure;
    ANALYZE lists what ``prune: true`` will delete, and DEPLOY deletes it after the rollout. Before
    issue 12 the first release into a new namespace failed ANALYZE and nothing was ever deleted."""
    svc = service(tmp_path, standin, "fresh", context="admin", namespace="fresh-ns", prune=True)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh-ns"}}
    svc.release([namespace, config_map("fresh-old", {"a": "1"}), deployment("fresh")], "first")
    first = svc.run(digest("1"))
    assert first.code == 0, first.explain()
    manifests = first.check("analyze.manifests")
    assert manifests["status"] == "warn", first.explain()
    assert manifests["observed"].count("server dry-run after the namespace exists") == 2, manifests
    assert "1/3 accepted, 2 deferred" in manifests["summary"], manifests
    assert live(standin, "/api/v1/namespaces/fresh-ns/configmaps/fresh-old") is not None

    svc.release([namespace, deployment("fresh", annotations={"v": "2"})], "second")
    second = svc.run(digest("1"))
    assert second.code == 0, second.explain()
    assert second.check("analyze.manifests")["status"] == "pass", second.explain()
    assert second.check("analyze.access")["evidence"]["would_prune"] == ["ConfigMap/fresh-old"]
    assert live(standin, "/api/v1/namespaces/fresh-ns/configmaps/fresh-old") is None


def hook(name: str, stage: str, image: str) -> dict[str, Any]:
    container = {"name": "task", "image": image, "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": {"bmad.dev/hook": stage}},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [container]}}},
    }


def test_i_job_hooks_run_before_and_after_the_release_and_a_failing_one_fails_the_deploy(
    tmp_path: Path, standin: StandIn
) -> None:
    """Jobs marked ``bmad.dev/hook`` run before (pre-deploy) and after (post-deploy) the main apply and
    are waited for: a failing post-deploy hook rolls the release back, a failing pre-deploy hook stops
    the deploy before the workloads change. Before, hook Jobs were applied like any object and never
    waited for."""
    standin.control("POST", "images", {"image": "registry.test/migrate:ok", "behaviour": "complete"})
    standin.control("POST", "images", {"image": "registry.test/migrate:bad", "behaviour": "crash"})
    svc = service(tmp_path, standin, "hooked")
    ok = "registry.test/migrate:ok"
    svc.release(
        [hook("hooked-migrate", "pre-deploy", ok), hook("hooked-check", "post-deploy", ok), deployment("hooked")],
        "first",
    )
    first = svc.run(digest("1"))
    assert first.code == 0, first.explain()
    assert first.check("deploy.apply")["evidence"]["applied"]["hooks"] == ["job/hooked-migrate: Complete"]
    assert "post-deploy hooks: job/hooked-check: Complete" in first.check("deploy.rollout")["observed"], first.explain()
    for name in ("hooked-migrate", "hooked-check"):
        job = live(standin, f"/apis/batch/v1/namespaces/{NS}/jobs/{name}")
        assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"]), job

    bad_post = [
        hook("hooked-migrate", "pre-deploy", ok),
        hook("hooked-check", "post-deploy", "registry.test/migrate:bad"),
    ]
    svc.release([*bad_post, deployment("hooked", annotations={"v": "2"})], "post-deploy hook fails")
    second = svc.run(digest("2"))
    assert second.code != 0, second.explain()
    rollout = second.check("deploy.rollout")
    assert rollout["status"] == "fail" and "job/hooked-check failed" in rollout["observed"], second.explain()
    assert rolled_back(second), second.explain()
    template = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/hooked")["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == f"{REPOSITORY}@{digest('1')}"

    bad_pre = [
        hook("hooked-migrate", "pre-deploy", "registry.test/migrate:bad"),
        hook("hooked-check", "post-deploy", ok),
    ]
    svc.release([*bad_pre, deployment("hooked", annotations={"v": "3"})], "pre-deploy hook fails")
    third = svc.run(digest("3"))
    assert third.code != 0, third.explain()
    apply = third.check("deploy.apply")
    assert apply["status"] == "fail" and "pre-deploy hook job/hooked-migrate" in apply["observed"], third.explain()
    template = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/hooked")["spec"]["template"]
    assert "v" not in (template["metadata"].get("annotations") or {}), template

"""DEPLOY on Kubernetes: the target over HTTP against the API stand-in (tests/kube_apiserver).

The stand-in's kubelet really runs each pod (examples/hello as a local process) and its kube-proxy
serves each test namespace's NodePort Service on 127.0.0.1, so smoke tests, the downtime prober and
Prometheus see a real service. With ``BMAD_TEST_KUBECONFIG`` set these
tests are meant for a real cluster (see .github/workflows/deploy-kind.yml); here they use the stand-in.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmad.engine.wiring.deploy import make_plugin
from tests.helpers import HELLO_APP, HELLO_DIR, http_get
from tests.phase_harness import run_phase
from tests.phases.deploy.conftest import dump, make_ctx, measured
from tests.phases.deploy.standin_cluster import StandInCluster

pytestmark = [pytest.mark.slow]

REPOSITORY = "registry.test/hello"
GOOD = "sha256:" + "1" * 64
MISSING = "sha256:" + "f" * 64  # never pushed: the stand-in's kubelet fails to pull it


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The stand-in; a real cluster when BMAD_TEST_KUBECONFIG is set (CI on kind)."""
    kubeconfig = os.environ.get("BMAD_TEST_KUBECONFIG")
    if kubeconfig:
        from tests.phases.deploy.real_cluster import RealCluster

        real = RealCluster(kubeconfig)
        try:
            yield real
        finally:
            real.stop()
        return
    standin = StandInCluster(tmp_path_factory.mktemp("kube-apiserver"), REPOSITORY, GOOD)
    standin.register_image(f"{REPOSITORY}@{GOOD}", [sys.executable, str(HELLO_APP)])
    standin.image_fails_to_pull(f"{REPOSITORY}@{MISSING}")
    try:
        yield standin
    finally:
        standin.stop()


def _millis(cpu: str) -> int:
    return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)


def write_bundle(
    folder: Path,
    namespace: str,
    *,
    env: dict[str, str],
    replicas: int = 2,
    deadline: int = 300,  # simulated seconds (30 s real): only the deadline cases run it out
    cpu: str = "50m",
    readiness_path: str = "/ready",
    extra_env: list[dict[str, Any]] | None = None,
    node_port: int | None = None,
    drop_kinds: tuple[str, ...] = (),
) -> Path:
    """The example's real manifests (examples/hello/k8s), adjusted per release."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted((HELLO_DIR / "k8s").glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(source.read_text()) if d and d["kind"] not in drop_kinds]
        for doc in docs:
            if doc["kind"] == "Namespace":
                doc["metadata"]["name"] = namespace
            else:
                doc["metadata"]["namespace"] = namespace
            if doc["kind"] == "Deployment":
                spec = doc["spec"]
                spec["replicas"] = replicas
                spec["progressDeadlineSeconds"] = deadline
                container = spec["template"]["spec"]["containers"][0]
                container["env"] = [{"name": k, "value": v} for k, v in env.items()] + (extra_env or [])
                container["resources"]["requests"]["cpu"] = cpu
                if _millis(cpu) > _millis(container["resources"]["limits"]["cpu"]):
                    container["resources"]["limits"]["cpu"] = cpu  # requests <= limits, or the API refuses it
                container["readinessProbe"]["httpGet"]["path"] = readiness_path
            if doc["kind"] == "HorizontalPodAutoscaler":  # it owns the count: spec.replicas is not applied
                doc["spec"]["minReplicas"] = replicas
            if doc["kind"] == "Service" and node_port:
                doc["spec"]["type"] = "NodePort"
                doc["spec"]["ports"][0]["nodePort"] = node_port
        (folder / source.name).write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    return folder


def deploy(
    tmp_path: Path,
    cluster: Any,
    namespace: str,
    version: str,
    *,
    digest: str | None = None,
    env: dict[str, str],
    verification: str = "enabled: false",
    smoke: str = "",
    prometheus_url: str = "http://127.0.0.1:9",
    baseline: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    **bundle: Any,
) -> Any:
    folder = tmp_path / version[:8]
    folder.mkdir(parents=True, exist_ok=True)
    digest = digest or cluster.good_digest
    bundle["node_port"] = cluster.node_port(namespace)
    write_bundle(folder / "k8s", namespace, env=env, **bundle)
    kubeconfig = cluster.write_kubeconfig(folder / "kubeconfig", namespace=namespace)
    url = cluster.service_url(namespace, "hello")
    template = textwrap.dedent(
        """\
        version: 1
        service: {{name: hello}}
        environments:
          stg:
            monitoring: {{prometheus_url: "{prometheus_url}"}}
            target:
              kind: kubernetes
              kubernetes:
                kubeconfig: {kubeconfig}
                manifests: k8s
                url: "{url}"
                image_pull_backoff_seconds: 1
                crash_loop_restarts: 2
        deploy:
          rollout_timeout_seconds: {timeout}
          rollback_timeout_seconds: {timeout}
          probe_interval_seconds: 0.1
          smoke:
            health_timeout_seconds: 5
            expected_metrics: [http_requests_total, hello_build_info]
        {smoke}
          verification:
        {verification}
        """
    )
    # A real cluster rolls the example out one surge pod at a time with minReadySeconds: 10.
    timeout = 180 if getattr(cluster, "real", False) else 20
    text = template.format(
        timeout=timeout,
        kubeconfig=kubeconfig,
        url=url,
        prometheus_url=prometheus_url,
        smoke=textwrap.indent(smoke, "    "),
        verification=textwrap.indent(verification, "    "),
    )
    ctx = make_ctx(
        folder,
        text,
        "stg",
        version=version,
        previous=measured(baseline or {}),
        options={"image": cluster.repository, "digest": digest, **(options or {})},
    )
    return run_phase(make_plugin(ctx), ctx)


def served_version(cluster: Any, namespace: str) -> set[str]:
    url = cluster.service_url(namespace, "hello")
    versions = set()
    for _ in range(6):
        status, body = http_get(url + "/")
        if status == 200:
            versions.add(json.loads(body)["version"])
    return versions


def test_good_release_and_update_use_server_side_apply_in_the_guides_order(tmp_path: Path, cluster: Any) -> None:
    ns = "k-good"
    seen = len(cluster.requests)
    first = deploy(tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.1"})
    assert first.metrics["rollout_successful"] is True, dump(first)
    assert first.metrics["pods_running"] == 2 and first.metrics["pods_failed"] == 0
    assert first.metrics["smoke_tests_passed"] == 2
    if not getattr(cluster, "real", False):  # the stand-in logs requests: check the verbs and the order
        patches = [(p, c) for method, p, c in cluster.requests[seen:] if method == "PATCH"]
        assert all(ctype == "application/apply-patch+yaml" for _p, ctype in patches)
        kinds = [path.split("/")[-2] for path, _c in patches]
        guide = [
            "namespaces",
            "configmaps",
            "deployments",
            "services",
            "ingresses",
            "networkpolicies",
            "horizontalpodautoscalers",
        ]
        assert kinds[0] == "namespaces" and [k for k in kinds if k in guide] == guide, kinds
        assert kinds.index("priorityclasses") < kinds.index("deployments"), kinds  # pods reference it
        assert kinds[-1] == "poddisruptionbudgets", kinds  # not in the guide's list: after the HPA
    deployment = cluster.get("deployments", ns, "hello")
    assert deployment is not None
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        == f"{cluster.repository}@{cluster.good_digest}"
    )
    assert any(f["manager"] == "bmad" and f["operation"] == "Apply" for f in deployment["metadata"]["managedFields"])

    second = deploy(tmp_path, cluster, ns, "b" * 40, env={"HELLO_VERSION": "1.0.2"})
    assert second.metrics["rollout_successful"] is True, dump(second)
    assert second.metrics["zero_downtime"] is True, dump(second)
    assert served_version(cluster, ns) == {"1.0.2"}
    assert (
        cluster.get("deployments", ns, "hello")["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    )
    assert second.artifacts["previous_snapshot"]["release"] == "a" * 40


def test_crash_looping_release_is_rolled_back_to_the_previous_revision(tmp_path: Path, cluster: Any) -> None:
    ns = "k-crash"
    good = deploy(tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.1"})
    assert good.metrics["rollout_successful"] is True, dump(good)
    bad = deploy(tmp_path, cluster, ns, "c" * 40, env={"HELLO_VERSION": "1.0.3", "HELLO_FAULT": "crash"})
    rollout = bad.result("deploy.rollout")
    assert rollout.status.value == "fail", dump(bad)
    assert rollout.evidence["rollout"]["reason"] == "CrashLoopBackOff"
    crash = [d for d in rollout.evidence["diagnosis"] if d["symptom"] == "CrashLoopBackOff"]
    assert crash and any("HELLO_FAULT=crash" in line for line in crash[0]["evidence"]), rollout.evidence
    assert "missing environment variables" in crash[0]["causes"]
    assert bad.metrics["rolled_back"] is True and bad.metrics["mttr_seconds"] < 20, dump(bad)
    assert bad.artifacts["rollback"]["to_version"] == "a" * 40
    assert served_version(cluster, ns) == {"1.0.1"}
    deployment = cluster.get("deployments", ns, "hello")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "HELLO_FAULT", "value": "crash"} not in env
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"  # like rollout undo


def test_image_pull_failure_is_diagnosed_and_rolled_back(tmp_path: Path, cluster: Any) -> None:
    ns = "k-pull"
    deploy(tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.1"})
    bad = deploy(tmp_path, cluster, ns, "p" * 40, digest=MISSING, env={"HELLO_VERSION": "1.0.6"})
    rollout = bad.result("deploy.rollout")
    assert rollout.status.value == "fail", dump(bad)
    assert rollout.evidence["rollout"]["reason"] in ("ErrImagePull", "ImagePullBackOff")
    symptoms = {d["symptom"] for d in rollout.evidence["diagnosis"]}
    assert "ImagePullBackOff" in symptoms
    assert "BUILD pushed" in rollout.fix
    assert bad.metrics["rolled_back"] is True
    assert served_version(cluster, ns) == {"1.0.1"}


@pytest.mark.parametrize(
    ("case", "bundle", "symptom"),
    [
        # without the namespace's quota and limits, a pod no node can hold stays Pending
        ("pending", {"cpu": "64", "drop_kinds": ("LimitRange", "ResourceQuota")}, "Pending: insufficient resources"),
        # with the example's quota (requests.cpu 1), the first new pod is refused at creation
        ("quota", {"cpu": "1"}, "Resource quota exceeded"),
        ("readiness", {"readiness_path": "/health"}, "Readiness probe failing"),
    ],
)
def test_progress_deadline_exceeded_is_diagnosed_and_rolled_back(
    tmp_path: Path, cluster: Any, case: str, bundle: dict[str, Any], symptom: str
) -> None:
    ns = f"k-deadline-{case}"
    # server-side apply does not delete what a later bundle leaves out: drop it from the start
    deploy(tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.1"}, drop_kinds=bundle.get("drop_kinds", ()))
    env = {"HELLO_VERSION": "1.0.7", **({"HELLO_FAULT": "unhealthy"} if case == "readiness" else {})}
    bad = deploy(tmp_path, cluster, ns, "s" * 40, env=env, deadline=1, **bundle)
    rollout = bad.result("deploy.rollout")
    assert rollout.status.value == "fail", dump(bad)
    assert rollout.evidence["rollout"]["reason"] == "ProgressDeadlineExceeded"
    assert "exceeded its progress deadline" in rollout.evidence["rollout"]["message"]
    symptoms = {d["symptom"] for d in rollout.evidence["diagnosis"]}
    assert {"Slow rollout / deployment timeout", symptom} <= symptoms, symptoms
    assert bad.metrics["rolled_back"] is True
    assert served_version(cluster, ns) == {"1.0.1"}


def test_release_failing_its_smoke_suite_is_rolled_back(tmp_path: Path, cluster: Any) -> None:
    ns = "k-smoke"
    suite = tmp_path / "suite.py"
    suite.write_text(
        textwrap.dedent(
            """\
        import json, os, sys, urllib.request
        body = json.load(urllib.request.urlopen(os.environ["HELLO_URL"] + "/", timeout=5))
        sys.exit(0 if body["message"].startswith("hello") else 1)
        """
        )
    )
    smoke = f"command: [{json.dumps(sys.executable)}, {json.dumps(str(suite))}]\nurl_env: HELLO_URL\n"
    good = deploy(tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.1"}, smoke=smoke)
    assert good.metrics["smoke_tests_passed"] == 3, dump(good)
    bad = deploy(tmp_path, cluster, ns, "d" * 40, env={"HELLO_VERSION": "1.0.4", "HELLO_MESSAGE": "bye"}, smoke=smoke)
    assert bad.status("deploy.smoke") == "fail", dump(bad)
    assert bad.metrics["smoke_tests_failed"] == 1
    assert bad.metrics["rolled_back"] is True
    assert served_version(cluster, ns) == {"1.0.1"}


def test_missing_secret_reference_stops_before_the_deployment(tmp_path: Path, cluster: Any) -> None:
    ns = "k-secret"
    ref = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "hello-db", "key": "password"}}}]
    bad = deploy(tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.1"}, extra_env=ref)
    apply = bad.result("deploy.apply")
    assert apply.status.value == "fail", dump(bad)
    assert "secret/hello-db" in apply.summary
    assert cluster.get("deployments", ns, "hello") is None  # nothing past the Secret step was applied
    assert "deploy.rollback" not in [r.id for r in bad.results]

    import base64

    cluster.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hello-db", "namespace": ns},
            "data": {"password": base64.b64encode(b"s3cret-value").decode()},
        }
    )
    good = deploy(tmp_path, cluster, ns, "b" * 40, env={"HELLO_VERSION": "1.0.2"}, extra_env=ref)
    assert good.metrics["rollout_successful"] is True, dump(good)
    assert "s3cret-value" not in json.dumps([r.to_dict() for r in good.results])


@pytest.mark.stack
@pytest.mark.skipif(
    bool(os.environ.get("BMAD_TEST_KUBECONFIG")),
    reason="pods of a real cluster are not reachable from the host's Prometheus",
)
def test_error_rate_rise_is_caught_through_prometheus_and_rolled_back(tmp_path: Path, cluster: Any, stack: Any) -> None:
    ns = "k-errors"
    job = "k8s-errors"
    verification = textwrap.dedent(
        f"""\
        window_seconds: 3
        interval_seconds: 1
        settle_seconds: 1
        traffic_path: /
        traffic_rps: 20
        criteria:
          - name: error_rate
            query: 'sum(rate(http_requests_total{{job="{job}",code=~"5.."}}[4s])) or vector(0)'
            baseline: error_rate
            max_increase: 0.5
        """
    )
    baseline = {
        "error_rate": {"query": "...", "value": 0.0, "min": 0.0, "avg": 0.0, "max": 0.0, "p95": 0.0, "no_data": False}
    }
    # Scrape every port a pod may get (a real setup uses Prometheus' pod discovery).
    stack.set_scrape_targets({job: [f"127.0.0.1:{p}" for p in cluster._port_pool]})
    good = deploy(
        tmp_path,
        cluster,
        ns,
        "a" * 40,
        env={"HELLO_VERSION": "1.0.1"},
        verification=verification,
        prometheus_url=stack.prometheus_url,
        baseline=baseline,
    )
    assert good.status("deploy.verify") == "pass", dump(good)
    bad = deploy(
        tmp_path,
        cluster,
        ns,
        "e" * 40,
        env={"HELLO_VERSION": "1.0.5", "HELLO_FAULT": "errors"},
        verification=verification,
        prometheus_url=stack.prometheus_url,
        baseline=baseline,
    )
    assert bad.status("deploy.rollout") == "pass" and bad.status("deploy.smoke") == "pass", dump(bad)
    assert bad.status("deploy.verify") == "fail", dump(bad)
    assert bad.metrics["rolled_back"] is True
    assert served_version(cluster, ns) == {"1.0.1"}


def test_no_rollback_option_and_a_failing_first_release(tmp_path: Path, cluster: Any) -> None:
    ns = "k-norollback"
    first = deploy(tmp_path, cluster, ns, "c" * 40, env={"HELLO_VERSION": "1.0.3", "HELLO_FAULT": "crash"})
    assert first.status("deploy.rollout") == "fail", dump(first)
    rollback = first.result("deploy.rollback")
    assert rollback.status.value == "fail" and "first release" in rollback.summary
    assert first.metrics["rolled_back"] is False

    good = deploy(tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.1"})
    assert good.metrics["rollout_successful"] is True, dump(good)
    bad = deploy(
        tmp_path,
        cluster,
        ns,
        "d" * 40,
        env={"HELLO_VERSION": "1.0.4", "HELLO_FAULT": "crash"},
        options={"no_rollback": True},
    )
    assert bad.status("deploy.rollout") == "fail"
    assert bad.status("deploy.rollback") == "skip" and "--no-rollback" in bad.result("deploy.rollback").summary
    assert bad.metrics["rolled_back"] is False
    deployment = cluster.get("deployments", ns, "hello")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "HELLO_FAULT", "value": "crash"} in env  # left in place, as asked
    # `bmad diagnose` on what was left in place: the guide's CrashLoopBackOff entry, with the logs.
    from tests.cli.invoke import invoke

    config_path = tmp_path / ("d" * 8) / "bmad.yaml"
    result = invoke(["diagnose", "-c", str(config_path), "--env", "stg"])
    assert result.exit_code == 1, result.output
    assert "CrashLoopBackOff" in result.output and "HELLO_FAULT=crash" in result.output
    assert "missing environment variables" in result.output and "verify secrets exist" in result.output


def test_manual_rollback_to_the_last_good_release_and_diagnose_cli(tmp_path: Path, cluster: Any) -> None:
    """`bmad rollback` on Kubernetes: back to the ReplicaSet of the last good release in the ledger."""
    from bmad.config.loader import load_config
    from bmad.core.models import PhaseName, PhaseResult, PhaseStatus, Release
    from bmad.engine.runner import open_ledger
    from bmad.engine.wiring.deploy_rollback import manual_rollback
    from tests.cli.invoke import invoke

    ns = "k-manual"
    good = deploy(tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.1"})
    bad = deploy(tmp_path, cluster, ns, "f" * 40, env={"HELLO_VERSION": "1.0.8", "HELLO_MESSAGE": "oops"})
    assert good.metrics["rollout_successful"] and bad.metrics["rollout_successful"], dump(bad)
    assert served_version(cluster, ns) == {"1.0.8"}
    config_path = tmp_path / ("f" * 8) / "bmad.yaml"
    config = load_config(config_path)
    with open_ledger(config) as ledger:  # what the engine recorded for the two deploys
        for run in (good, bad):
            release = Release("hello", "stg", run.ctx.release.version)
            ledger.record_phase(release, PhaseResult(PhaseName.DEPLOY, PhaseStatus.PASSED, artifacts=run.artifacts))

    outcome = manual_rollback(config, "stg", reason="users report wrong greetings")
    assert outcome.ok, outcome.to_dict()
    assert (outcome.from_version, outcome.to_version) == ("f" * 40, "a" * 40)
    assert outcome.record is not None and outcome.record["manual"] is True
    assert outcome.record["mttr_seconds"] is not None and outcome.record["mttr_seconds"] < 20
    assert served_version(cluster, ns) == {"1.0.1"}
    with open_ledger(config) as ledger:
        history = ledger.get_release("hello", "stg", "f" * 40)
        assert history is not None and history.rolled_back

    result = invoke(["diagnose", "-c", str(config_path), "--env", "stg", "--json"])
    assert result.exit_code == 0, result.output
    assert '"findings": []' in result.output


def test_diagnose_finds_high_latency_after_deployment(tmp_path: Path, cluster: Any) -> None:
    from bmad.config.loader import load_config
    from bmad.engine.wiring.deploy_diagnose import diagnose_environment
    from bmad.ports.metrics import Sample

    ns = "k-slow"
    slow = deploy(
        tmp_path, cluster, ns, "a" * 40, env={"HELLO_VERSION": "1.0.9", "HELLO_FAULT": "slow", "HELLO_SLOW_MS": "700"}
    )
    assert slow.metrics["rollout_successful"] is True, dump(slow)
    config = load_config(tmp_path / ("a" * 8) / "bmad.yaml")

    class P95:  # the metrics port answering what Prometheus would for the p95 query
        def __init__(self, seconds: float) -> None:
            self.seconds, self.queries = seconds, []

        def query(self, expr: str, *, at: Any = None) -> list[Sample]:
            self.queries.append(expr)
            return [Sample({}, self.seconds, 0.0)]

    metrics = P95(0.9)
    report = diagnose_environment(config, "stg", metrics_query=metrics)
    latency = [f for f in report.findings if f.symptom == "High latency after deployment"]
    assert {f.object for f in latency} == {"deployment/hello", "job/hello"}, report.to_dict()
    target_finding = next(f for f in latency if f.object == "deployment/hello")
    assert any(line.startswith("hpa/hello") for line in target_finding.evidence)
    assert any("scale up" in fix for fix in target_finding.fixes)
    assert "http_request_duration_seconds_bucket" in metrics.queries[0]

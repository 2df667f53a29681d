"""The ANALYZE phase end to end: checks, metrics, artifacts, evidence; against an in-test Target
(pure logic) and against the Kubernetes API stand-in through the real Kubernetes target."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmad.adapters.git_history import GitHistory
from bmad.adapters.kube_validate import BundledSchemaValidator
from bmad.config import load_config_text
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.phases.analyze import AnalyzePhase
from bmad.phases.analyze.attestations import load_attestations
from bmad.phases.analyze.phase import METRIC_NAMES
from bmad.ports.history import ReleaseRecord
from bmad.ports.phase import PhaseContext
from bmad.ports.target import TargetSnapshot
from tests.phases.analyze.fixtures import ATTESTED, DIGEST, NOW, baseline, to_yaml

BMAD_YAML = """
service: {name: hello, owner: team-shop@example.org}
environments:
  production:
    production: true
    risk: high
    monitoring:
      prometheus_url: http://127.0.0.1:9090
      alertmanager_url: http://127.0.0.1:9093
      grafana: {url: "http://127.0.0.1:3000"}
deploy: {health_path: /health}
analyze:
  require_cpu_limits: true
  pull_policy: IfNotPresent
  allowed_registries: ["127.0.0.1:5000"]
  require_digest_pinning: true
  max_cpu: "2"
  max_memory: 4Gi
  uid_floor: 10000
  required_secrets: [{name: app-secrets, keys: [db-password]}]
"""


class NoHistory:
    def previous_releases(self, *, limit: int = 20) -> list[ReleaseRecord]:
        return []

    def last_deployed(self) -> ReleaseRecord | None:
        return None


@dataclass
class FakeTarget:
    """Implements the parts of the Target protocol ANALYZE uses: snapshot and secret key names."""

    kind: str = "local"
    secrets: dict[str, set[str]] = field(default_factory=dict)
    running: dict[str, Any] | None = None
    asked: list[tuple[str, str | None]] = field(default_factory=list)

    def snapshot(self, service: str, environment: str) -> TargetSnapshot:
        if self.running is None:
            return TargetSnapshot(self.kind, service, environment)
        return TargetSnapshot.from_dict(
            {"kind": self.kind, "exists": True, "service": service, "environment": environment, **self.running}
        )

    def secret_keys(self, name: str, *, namespace: str | None = None) -> set[str] | None:
        self.asked.append((name, namespace))
        return set(self.secrets[name]) if name in self.secrets else None


def evidence_phases() -> dict[PhaseName, PhaseResult]:
    return {
        PhaseName.BUILD: PhaseResult(
            PhaseName.BUILD,
            PhaseStatus.PASSED,
            metrics={
                "test_pass_rate": 100.0,
                "e2e_pass_rate": 100.0,
                "vulnerabilities_critical": 0,
                "vulnerabilities_high": 0,
                "secrets_in_image": 0,
                "image_size_mb": 120.0,
            },
            artifacts={"image_digest": DIGEST, "image": "127.0.0.1:5000/hello"},
        ),
        PhaseName.MEASURE: PhaseResult(
            PhaseName.MEASURE,
            PhaseStatus.PASSED,
            metrics={
                "alert_rules_loaded": 25,
                "grafana_dashboards_count": 4,
                "baseline_captured": True,
                "scrape_targets_up": True,
                "test_metric_verified": True,
                "prometheus_uptime_seconds": 9000,
                "sla_met": True,
            },
            artifacts={"load_test": {"target_rps": 50, "levels": [{"rps": 80, "passed": True}]}},
        ),
    }


def make_project(
    root: Path,
    git_repo: Callable[..., Path],
    *,
    extra_yaml: str = "",
    objects: list[Any] | None = None,
) -> Path:
    attestations = [
        {"item": item, "who": "alice@example.org", "when": "2026-11-01", "note": "checked", "expires": "2027-02-01"}
        for item in ATTESTED
    ]
    repo = git_repo(
        "svc",
        files={
            "bmad.yaml": BMAD_YAML + extra_yaml,
            "k8s/all.yaml": to_yaml(objects if objects is not None else baseline()),
            "attestations.yaml": yaml.safe_dump(attestations),
            "app/main.py": "print('hello')\n",
        },
    )
    return repo


def make_ctx(
    repo: Path, *, previous: dict[PhaseName, PhaseResult] | None = None, options: dict[str, Any] | None = None
) -> PhaseContext:
    from bmad.ledger.evidence import EvidenceFolder

    text = (repo / "bmad.yaml").read_text()
    config = dataclasses.replace(
        load_config_text(text, source=str(repo / "bmad.yaml")), source_path=str(repo / "bmad.yaml")
    )
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return PhaseContext(
        config=config,
        environment_name="production",
        release=Release("hello", "production", head),
        evidence=EvidenceFolder(repo.parent / "evidence"),
        history=NoHistory(),
        previous=previous if previous is not None else evidence_phases(),
        options=options or {},
    )


@dataclass
class Run:
    results: dict[str, CheckResult]
    metrics: dict[str, MetricValue]
    artifacts: dict[str, Any]


def run(phase: AnalyzePhase, ctx: PhaseContext) -> Run:
    from bmad.engine.scheduler import run_checks

    ran = run_checks(list(phase.checks(ctx)), ctx, warnings_fail=False)
    results = list(ran.results)
    return Run({r.id: r for r in results}, dict(phase.metrics(ctx, results)), ctx.artifacts())


def make_phase(repo: Path, target: Any, **kwargs: Any) -> AnalyzePhase:
    return AnalyzePhase(
        schemas=BundledSchemaValidator("1.30"),
        target=target,
        source=GitHistory(repo),
        attestations=lambda: load_attestations(repo / "attestations.yaml"),
        now=NOW,
        **kwargs,
    )


def test_ready_release_passes_with_the_guide_metrics(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    repo = make_project(tmp_path, git_repo)
    target = FakeTarget(
        secrets={"app-secrets": {"db-password", "jwt-secret"}},
        running={
            "release": "abc123",
            "image": "127.0.0.1:5000/hello",
            "digest": "sha256:" + "1" * 64,
            "replicas": 2,
            "containers": ["hello-1", "hello-2"],
            "generation": 3,
        },
    )
    ctx = make_ctx(repo)
    outcome = run(make_phase(repo, target), ctx)
    statuses = {cid: r.status for cid, r in outcome.results.items()}
    assert all(s is CheckStatus.PASS for s in statuses.values()), {
        cid: (r.status.value, r.summary, r.observed)
        for cid, r in outcome.results.items()
        if r.status is not CheckStatus.PASS
    }
    assert set(outcome.metrics) == set(METRIC_NAMES)
    assert outcome.metrics == {
        "readiness_checklist_complete": 100.0,
        "kubernetes_manifests_valid": True,
        "secrets_configured": True,
        "rollback_plan_documented": True,
        "risk_assessment_complete": True,
    }
    plan = outcome.artifacts["rollback_plan"]
    assert plan["to"]["digest"] == "sha256:" + "1" * 64
    assert plan["commands"][0] == "bmad rollback --env production"
    assert plan["expected_seconds"] > 0
    assert outcome.artifacts["snapshot"]["release"] == "abc123"
    assert outcome.artifacts["risk"]["level"] == "HIGH"  # first production release of the service
    readiness = outcome.artifacts["readiness"]
    assert len(readiness["items"]) >= 130
    assert ("app-secrets", "shop") in target.asked
    evidence = ctx.evidence.root
    for name in (
        "analyze/readiness.json",
        "analyze/readiness.sarif",
        "analyze/readiness.junit.xml",
        "analyze/validation.json",
        "analyze/snapshot.json",
        "analyze/rollback_plan.md",
        "analyze/risk.json",
    ):
        assert (evidence / name).is_file(), name
    sarif_text = (evidence / "analyze/readiness.sarif").read_text()
    sarif = json.loads(sarif_text)
    assert sarif["version"] == "2.1.0"
    assert "\n" not in sarif_text.strip()  # compact: written by json's C encoder (the cost on big bundles)


def test_problems_fail_the_right_checks(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    objects = baseline()
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["privileged"] = True  # critical
    container.pop("lifecycle")  # medium
    container["env"].append({"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}})
    repo = make_project(tmp_path, git_repo, objects=objects)
    target = FakeTarget(secrets={"app-secrets": {"jwt-secret"}})  # db-password missing; Secret api missing
    outcome = run(make_phase(repo, target), make_ctx(repo))
    results = outcome.results
    assert results["analyze.readiness"].status is CheckStatus.FAIL
    assert "SC-012" in results["analyze.readiness"].observed
    security = results["analyze.readiness.security"]
    assert security.status is CheckStatus.FAIL
    assert "SC-012" in security.observed and "shop/Deployment/web/web" in security.observed
    assert "SC-012: Remove securityContext.privileged" in security.fix
    reliability = results["analyze.readiness.reliability"]
    assert reliability.status is CheckStatus.WARN and "RE-014" in reliability.observed
    secrets = results["analyze.secrets"]
    assert secrets.status is CheckStatus.FAIL
    assert "shop/app-secrets: missing key(s) db-password" in secrets.observed
    assert "shop/api: missing" in secrets.observed
    assert "jwt-secret" not in json.dumps(secrets.evidence) or "db-password" in json.dumps(secrets.evidence)
    assert outcome.metrics["secrets_configured"] is False
    assert outcome.metrics["readiness_checklist_complete"] < 100.0
    assert outcome.metrics["kubernetes_manifests_valid"] is True
    # first deployment: the plan says what rollback means when nothing ran before
    assert outcome.artifacts["rollback_plan"]["first_deployment"] is True


def test_compose_gpu_services_are_judged_by_the_catalog(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    """Guards the wiring of the catalog's Compose scope: ANALYZE reads the environment's compose file
    (``gpu.compose``) and a root GPU service fails the security category (before, the catalog saw
    Kubernetes objects only and no Compose entry existed)."""
    repo = make_project(tmp_path, git_repo, extra_yaml="gpu: {compose: compose.yml}\n")
    (repo / "compose.yml").write_text("services:\n  infer:\n    image: infer\n    gpus: all\n", encoding="utf-8")
    target = FakeTarget(secrets={"app-secrets": {"db-password", "jwt-secret"}})
    outcome = run(make_phase(repo, target), make_ctx(repo))
    security = outcome.results["analyze.readiness.security"]
    assert security.status is CheckStatus.FAIL
    assert "compose.yml: infer: no user (runs as the image's user, often root)" in security.observed
    items = {item["id"]: item for item in outcome.artifacts["readiness"]["items"]}
    assert items["SC-065"]["status"] == "fail"
    assert (items["SC-066"]["findings"][0]["file"], items["SC-066"]["findings"][0]["line"]) == ("compose.yml", 2)
    assert "analyze.gpu_compose" not in outcome.results


def test_no_suppressions_option_and_invalid_manifests(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    objects = baseline()
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    deployment["metadata"]["annotations"] = {"bmad.dev/ignore": "SC-012", "bmad.dev/ignore-reason": "fuse"}
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    deployment["spec"]["replicass"] = 3
    repo = make_project(tmp_path, git_repo, objects=objects)
    target = FakeTarget(secrets={"app-secrets": {"db-password"}})
    lenient = run(make_phase(repo, target), make_ctx(repo))
    assert "SC-012" not in lenient.results["analyze.readiness.security"].observed
    assert lenient.results["analyze.manifests"].status is CheckStatus.FAIL
    assert "replicass" in lenient.results["analyze.manifests"].observed
    assert lenient.metrics["kubernetes_manifests_valid"] is False
    strict = run(make_phase(repo, target), make_ctx(repo, options={"no_suppressions": True}))
    assert "SC-012" in strict.results["analyze.readiness.security"].observed


def test_high_risk_without_mitigations_is_incomplete(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    repo = make_project(tmp_path, git_repo)
    target = FakeTarget(secrets={"app-secrets": {"db-password"}})
    no_measure = {k: v for k, v in evidence_phases().items() if k is PhaseName.BUILD}
    outcome = run(make_phase(repo, target), make_ctx(repo, previous=no_measure))
    risk = outcome.results["analyze.risk"]
    assert risk.status is CheckStatus.FAIL
    assert "baseline" in risk.fix
    assert outcome.metrics["risk_assessment_complete"] is False


def test_no_target_and_no_manifests(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    repo = git_repo("empty", files={"bmad.yaml": BMAD_YAML})
    outcome = run(make_phase(repo, None), make_ctx(repo))
    assert outcome.results["analyze.manifests"].status is CheckStatus.FAIL
    assert outcome.results["analyze.snapshot"].status is CheckStatus.FAIL
    assert outcome.results["analyze.secrets"].status is CheckStatus.SKIP
    assert outcome.results["analyze.readiness"].status is CheckStatus.FAIL  # TQ-026: no workload, critical
    assert outcome.metrics["kubernetes_manifests_valid"] is False


# -- against the Kubernetes API stand-in ------------------------------------------------------------
@pytest.fixture
def kube(tmp_path: Path) -> Any:
    from tests.phases.deploy.standin_cluster import StandInCluster

    standin = StandInCluster(tmp_path / "kube-apiserver", "registry.test/shop", "sha256:" + "1" * 64, pool_size=0)
    yield standin
    standin.stop()


def test_secrets_and_snapshot_against_kubernetes_stand_in(
    tmp_path: Path, git_repo: Callable[..., Path], kube: Any
) -> None:
    from bmad.engine.wiring.deploy import make_target

    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="shop")
    repo = make_project(tmp_path, git_repo)
    text = (repo / "bmad.yaml").read_text().replace(
        "    production: true\n",
        "    production: true\n"
        f"    target: {{kind: kubernetes, kubernetes: {{kubeconfig: {kubeconfig}, namespace: shop}}}}\n",
        1,
    ) + "  server_dry_run: false\n"
    (repo / "bmad.yaml").write_text(text)
    ctx = make_ctx(repo)
    target = make_target(ctx.config, "production")
    # Only the key names exist in the target; ANALYZE never reads the values.
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "app-secrets", "namespace": "shop"},
            "data": {"db-password": "c2VjcmV0"},
        }
    )
    outcome = run(make_phase(repo, target), ctx)
    assert outcome.results["analyze.secrets"].status is CheckStatus.PASS, outcome.results["analyze.secrets"].observed
    assert outcome.metrics["secrets_configured"] is True
    snapshot = outcome.artifacts["snapshot"]
    assert snapshot["kind"] == "kubernetes" and snapshot["exists"] is False
    assert "c2VjcmV0" not in json.dumps(outcome.results["analyze.secrets"].to_dict())
    # the Secret disappears: the same check now fails
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "app-secrets", "namespace": "shop"},
            "data": {"other": "eA=="},
        }
    )
    again = run(make_phase(repo, make_target(ctx.config, "production")), make_ctx(repo))
    assert again.results["analyze.secrets"].status is CheckStatus.FAIL
    assert "missing key(s) db-password" in again.results["analyze.secrets"].observed


def test_wiring_builds_the_phase_from_bmad_yaml(
    tmp_path: Path, git_repo: Callable[..., Path], kube: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bmad.engine.wiring.analyze import make_plugin

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="shop")
    repo = make_project(tmp_path, git_repo)
    text = (repo / "bmad.yaml").read_text().replace(
        "    production: true\n",
        "    production: true\n"
        f"    target: {{kind: kubernetes, kubernetes: {{kubeconfig: {kubeconfig}, namespace: shop}}}}\n",
        1,
    ) + "  server_dry_run: false\n"
    (repo / "bmad.yaml").write_text(text)
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "app-secrets", "namespace": "shop"},
            "data": {"db-password": "eA=="},
        }
    )
    ctx = make_ctx(repo)
    plugin = make_plugin(ctx)
    assert isinstance(plugin, AnalyzePhase)
    outcome = run(plugin, ctx)
    assert outcome.metrics["secrets_configured"] is True
    assert outcome.metrics["kubernetes_manifests_valid"] is True
    assert "disabled (analyze.server_dry_run: false)" in outcome.results["analyze.manifests"].summary
    # compiled validators cached for the next run, of this checkout or another, in the user's cache
    assert list((tmp_path / "xdg" / "bmad" / "schemas").glob("*.bin"))
    assert not (repo / ".bmad" / "cache" / "schemas").exists()


def test_server_dry_run_sends_dry_run_all_and_reports_rejections() -> None:
    from bmad.adapters.kube_validate import ServerDryRun
    from bmad.core.errors import AdapterError

    class FakeApi:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str, list[tuple[str, str]]]] = []

        def object_path(self, api_version: str, kind: str, name: str, namespace: str | None) -> str:
            return f"/{api_version}/{namespace}/{kind}/{name}"

        def request(self, method: str, path: str, *, query: list[tuple[str, str]], body: Any, content_type: str) -> Any:
            self.calls.append((method, path, query))
            if body["metadata"]["name"] == "bad":
                raise AdapterError("kubernetes", "PATCH", "admission webhook denied: no latest tags", status=400)
            return body

    api = FakeApi()
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "good"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad", "namespace": "other"}},
    ]
    failures = ServerDryRun(lambda: api, namespace="shop").dry_run(objects)
    assert [i for i, _ in failures] == [1]
    assert "admission webhook denied" in failures[0][1]
    assert all(("dryRun", "All") in query for _, _, query in api.calls)
    assert [path for _, path, _ in api.calls] == ["/v1/shop/ConfigMap/good", "/v1/other/ConfigMap/bad"]


@pytest.mark.engine
@pytest.mark.stack
def test_secrets_and_snapshot_against_the_local_engine(
    tmp_path: Path, git_repo: Callable[..., Path], engine: Any
) -> None:
    """The local target keeps secrets as engine secrets (one value each: the key is the name)."""
    import uuid

    from bmad.adapters.targets.local import LocalTarget
    from bmad.adapters.targets.probe import RequestsProbe
    from bmad.config.deploy import LocalTargetConfig

    name = f"bmad-analyze-{uuid.uuid4().hex[:8]}"
    objects = baseline()
    pod = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    pod["volumes"][0]["secret"]["secretName"] = name
    repo = make_project(tmp_path, git_repo, objects=objects)
    (repo / "bmad.yaml").write_text(
        (repo / "bmad.yaml")
        .read_text()
        .replace(
            "required_secrets: [{name: app-secrets, keys: [db-password]}]", f"required_secrets: [{{name: {name}}}]"
        )
    )
    target = LocalTarget(LocalTargetConfig(), probe=RequestsProbe(), client=engine)
    missing = run(make_phase(repo, target), make_ctx(repo))
    assert missing.results["analyze.secrets"].status is CheckStatus.FAIL
    assert f"{name}: missing" in missing.results["analyze.secrets"].observed
    secret = engine.secrets.create(name=name, data=b"not-a-real-value")
    try:
        present = run(make_phase(repo, target), make_ctx(repo))
        assert present.results["analyze.secrets"].status is CheckStatus.PASS, present.results[
            "analyze.secrets"
        ].observed
        assert present.artifacts["snapshot"] == {
            "kind": "local",
            "exists": False,
            "service": "hello",
            "environment": "production",
        }
        assert present.artifacts["rollback_plan"]["first_deployment"] is True
    finally:
        secret.remove()


def test_record_keeps_every_item_but_caps_findings() -> None:
    from bmad.phases.analyze.readiness import MAX_FINDINGS_PER_ITEM, capped_item

    data = {
        "items": [
            {"id": "SC-012", "findings": [{"message": str(i)} for i in range(250)]},
            {"id": "SC-013", "findings": []},
        ]
    }
    record = {"items": [capped_item(item) for item in data["items"]]}
    assert [i["id"] for i in record["items"]] == ["SC-012", "SC-013"]
    assert len(record["items"][0]["findings"]) == MAX_FINDINGS_PER_ITEM
    assert record["items"][0]["findings_truncated"] == 250 - MAX_FINDINGS_PER_ITEM
    assert len(data["items"][0]["findings"]) == 250  # the evidence file keeps them all


def test_the_report_and_the_category_checks_share_each_item_dict() -> None:
    """Guards issue 13 (session 6): the readiness artifact and the four category checks' evidence made
    each item's dict (and its capped copy) again, so phase.json and the ledger walked and encoded a
    thousand objects' findings twice; one object each is encoded once."""
    from bmad.phases.analyze.catalog import catalog
    from bmad.phases.analyze.readiness import MAX_FINDINGS_PER_ITEM, score
    from bmad.phases.analyze.readiness_data import Finding, ItemResult, ItemStatus

    entries = catalog()
    many = ItemResult(entries[0], ItemStatus.FAIL, findings=[Finding(entries[0].id, str(i)) for i in range(250)])
    few = ItemResult(entries[1], ItemStatus.PASS, passed=1, evaluated=1)
    report = score([many, few])
    whole = report.to_dict()["items"]
    assert whole[0] is report.item_dict(many) and whole[1] is report.item_dict(few)
    assert report.to_dict()["items"][0] is whole[0]
    capped = report.capped_item(many)
    assert capped is report.capped_item(many) and len(capped["findings"]) == MAX_FINDINGS_PER_ITEM
    assert report.capped_item(few) is whole[1]
    assert whole[0] == many.to_dict() and len(whole[0]["findings"]) == 250


def test_a_category_checks_evidence_shows_the_first_findings_and_where_the_rest_are() -> None:
    """Guards issue 13 (session 11): each category check's evidence repeated up to 200 findings of every
    item the readiness artifact already holds (a thousand objects' findings recorded twice in the ledger
    and phase.json); it now shows the first few, how many it left out, and the file that has them all."""
    from bmad.phases.analyze.catalog import catalog
    from bmad.phases.analyze.checks.categories import runner
    from bmad.phases.analyze.readiness import EVIDENCE_FINDINGS_PER_ITEM, MAX_FINDINGS_PER_ITEM, score
    from bmad.phases.analyze.readiness_data import Finding, ItemResult, ItemStatus

    entry = catalog()[0]
    many = ItemResult(entry, ItemStatus.FAIL, findings=[Finding(entry.id, f"object {i}") for i in range(250)])
    report = score([many])

    @dataclass
    class Prepared:
        report: Any

    @dataclass
    class Run:
        ports: Any = None

        def prepare(self, ctx: Any) -> Prepared:
            return Prepared(report)

    result = runner(entry.category)(Any, Run())  # type: ignore[arg-type]
    items = result.evidence["items"]
    assert isinstance(items, list) and len(items) == 1
    shown = items[0]
    assert [f["message"] for f in shown["findings"]] == [f"object {i}" for i in range(EVIDENCE_FINDINGS_PER_ITEM)]
    assert shown["findings_truncated"] == 250 - EVIDENCE_FINDINGS_PER_ITEM
    assert shown["status"] == "fail" and shown["fix"] == entry.fix  # what `bmad report` reads of an item
    assert result.evidence["all_findings"] == "analyze/readiness.json"
    assert len(report.capped_item(many)["findings"]) == MAX_FINDINGS_PER_ITEM  # the artifact keeps its 200
    assert report.evidence_item(many) is shown  # made once


def test_bmad_analyze_through_the_engine_and_cli(tmp_path: Path, git_repo: Callable[..., Path], kube: Any) -> None:
    """`bmad analyze --force` on a service repository: the phase record carries the metrics and
    every item's result, and the renderer the generic command uses reads it back."""
    from bmad.cli.analyze import render_analyze
    from bmad.core.models import PhaseResult
    from tests.cli.invoke import invoke

    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="shop")
    repo = make_project(tmp_path, git_repo)
    text = (repo / "bmad.yaml").read_text().replace(
        "    production: true\n",
        "    production: true\n    allow_dirty: true\n"
        f"    target: {{kind: kubernetes, kubernetes: {{kubeconfig: {kubeconfig}, namespace: shop}}}}\n",
        1,
    ) + "  server_dry_run: false\n"
    (repo / "bmad.yaml").write_text(text)
    result = invoke(["analyze", "-c", str(repo / "bmad.yaml"), "--force", "--reason", "test", "--json"])
    assert result.exit_code == 1, result.output  # no BUILD/MEASURE evidence, no Secret: the gate fails
    data = json.loads(result.output)
    phase = next(p for p in data["phases"] if p["phase"] == "analyze")
    metrics = phase["metrics"]
    assert set(metrics) == set(METRIC_NAMES)
    assert metrics["kubernetes_manifests_valid"] is True
    assert metrics["secrets_configured"] is False
    artifacts = phase["artifacts"]
    assert len(artifacts["readiness"]["items"]) >= 130
    from bmad.core.models import PhaseName, PhaseStatus

    # the report is the phase's artifact once: not the readiness check's too (session 11: the ledger and
    # phase.json held a megabyte twice for 1,000 objects), in the JSON, phase.json and the ledger
    readiness_check = next(c for c in phase["checks"] if c["id"] == "analyze.readiness")
    assert readiness_check["artifacts"] == {} and "analyze/readiness.json" in readiness_check["evidence_files"]
    phase_json = json.loads((repo / ".bmad" / phase["evidence_dir"] / "phase.json").read_text())
    # phase.json names the report by the digest of the text the ledger hashes, as the git record does
    from bmad.ledger.hashing import canonical_json

    hashed = canonical_json(artifacts["readiness"]).encode()
    assert phase_json["artifacts"]["readiness"] == {
        "omitted_bytes": len(hashed),
        "sha256": hashlib.sha256(hashed).hexdigest(),
    }
    assert json.dumps(phase_json).count('"suppressions_enabled"') == 0
    from bmad.ledger import Ledger

    with Ledger.open(f"sqlite:///{repo / '.bmad' / 'ledger.db'}") as ledger:
        (history,) = ledger.list_releases()
        recorded = history.phases[PhaseName.ANALYZE]
        assert recorded.artifacts["readiness"] == artifacts["readiness"]
        assert all("readiness" not in c.artifacts for c in recorded.checks)

    rendered = render_analyze(
        PhaseResult(PhaseName.ANALYZE, PhaseStatus.FAILED, metrics=metrics, artifacts=artifacts), fmt="junit"
    )
    assert rendered.startswith("<?xml")


def test_strict_is_only_claimed_in_strict_mode(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    """Guards: analyze.manifests said "(strict)" and failed on a duplicated key with strict_schemas: false."""
    repo = make_project(tmp_path, git_repo, extra_yaml="  strict_schemas: false\n")
    text = (repo / "k8s" / "all.yaml").read_text()
    (repo / "k8s" / "all.yaml").write_text(
        text.replace("kind: ServiceAccount", "kind: ServiceAccount\nkind: ServiceAccount", 1)
    )
    result = run(make_phase(repo, FakeTarget(secrets={"app-secrets": {"db-password"}})), make_ctx(repo))
    manifests = result.results["analyze.manifests"]
    assert "(strict)" not in manifests.expected
    assert manifests.status is CheckStatus.WARN and "duplicate key 'kind'" in manifests.observed

"""``bmad run`` of a Helm chart source on the Kubernetes API stand-in (issue 17 items 1-3).

The chart is rendered through Helm's Go SDK (PyPI helm-python-sdk); DEPLOY applies the rendered
bundle with bmad's own apply and writes no Helm release. Each test fails before issue 17 (a chart
source did not exist: bmad.yaml refused ``source``)."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kube_apiserver.harness import StandIn
from tests.phases.deploy.kube_service import REPOSITORY, KubeService, digest

pytestmark = [pytest.mark.slow]
pytest.importorskip("helm_python")

NS = "team-a"
TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image }}"
          ports: [{containerPort: 8080}]
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {memory: 64Mi}
"""


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        yield server
    finally:
        server.stop()


def chart_service(
    tmp_path: Path, standin: StandIn, name: str, *, dev_values: str = "replicas: 2\n", context: str = "ci"
) -> KubeService:
    """A service whose bundle is ``chart/`` rendered with ``chart/values-dev.yaml`` (committed)."""
    svc = KubeService.create(tmp_path, standin, name, context=context, settings={})
    chart = svc.repo / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n", encoding="utf-8")
    (chart / "values.yaml").write_text(f"replicas: 1\nimage: {REPOSITORY}:dev\n", encoding="utf-8")
    (chart / "values-dev.yaml").write_text(dev_values, encoding="utf-8")
    (chart / "templates" / "deployment.yaml").write_text(TEMPLATE, encoding="utf-8")
    svc.release([], "the chart")
    svc.configure(source={"kind": "helm", "helm": {"chart": "chart", "values": ["chart/values-dev.yaml"]}})
    return svc


def live(standin: StandIn, path: str) -> object:
    answer = standin.request("GET", path)
    return answer.body if answer.status == 200 else None


def test_a_chart_is_rendered_with_the_environments_values_applied_and_kept_with_the_evidence(
    tmp_path: Path, standin: StandIn
) -> None:
    """The rendered chart is what DEPLOY applies (values-dev's 2 replicas, the pinned digest); it is kept
    in the run's evidence (0600); no Helm release Secret is written (``helm list`` shows nothing)."""
    svc = chart_service(tmp_path, standin, "charted")
    outcome = svc.run(digest("1"))
    assert outcome.code == 0, outcome.explain()
    applied = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/charted")
    assert isinstance(applied, dict)
    assert applied["spec"]["replicas"] == 2
    assert applied["spec"]["template"]["spec"]["containers"][0]["image"] == f"{REPOSITORY}@{digest('1')}"
    kept = [p for p in svc.repo.rglob("bundle.yaml") if p.parent.name == "deploy"]
    assert kept, "the rendered bundle is not in the evidence"
    assert "# Source: chart/templates/deployment.yaml" in kept[0].read_text(encoding="utf-8")
    assert stat.S_IMODE(os.stat(kept[0]).st_mode) == 0o600
    secrets = live(standin, f"/api/v1/namespaces/{NS}/secrets?labelSelector=owner%3Dhelm")
    assert isinstance(secrets, dict) and secrets["items"] == []


def test_a_finding_on_a_rendered_chart_points_at_the_template_file(tmp_path: Path, standin: StandIn) -> None:
    """A schema error in the rendered Deployment names chart/templates/deployment.yaml and its line."""
    svc = chart_service(tmp_path, standin, "wrongtype", dev_values="replicas: two\n")
    outcome = svc.run(digest("1"))
    assert outcome.code != 0, outcome.explain()
    manifests = outcome.check("analyze.manifests")
    assert manifests["status"] == "fail", outcome.explain()
    assert "chart/templates/deployment.yaml:1" in str(manifests["observed"]), manifests


def test_a_chart_that_does_not_render_stops_before_any_check_with_exit_2(tmp_path: Path, standin: StandIn) -> None:
    """Helm's message and the template, one error, exit 2; no check ran."""
    svc = chart_service(tmp_path, standin, "broken")
    (svc.repo / "chart" / "templates" / "broken.yaml").write_text("x: {{ .Values.nope.deeper }}\n", encoding="utf-8")
    svc.release([], "a broken template")
    outcome = svc.run(digest("1"))
    assert outcome.code == 2, outcome.explain()
    analyze = outcome.phase("analyze")
    assert analyze["status"] == "failed" and analyze["checks"] == [], outcome.explain()
    assert analyze["message"].startswith("chart: helm-python-sdk failed: app/templates/broken.yaml:1"), analyze
    assert "nil pointer evaluating" in analyze["message"], analyze
    assert outcome.phase("deploy") == {}


def test_a_namespace_holding_a_helm_release_of_the_same_name_is_refused(tmp_path: Path, standin: StandIn) -> None:
    """Two owners are refused: a ``sh.helm.release.v1.<name>.v<N>`` Secret stops DEPLOY before any apply."""
    svc = chart_service(tmp_path, standin, "owned")
    release_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.owned.v3", "labels": {"owner": "helm", "name": "owned"}},
        "data": {"release": "e30="},
    }
    assert standin.request("POST", f"/api/v1/namespaces/{NS}/secrets", release_secret).status == 201
    outcome = svc.run(digest("1"))
    assert outcome.code != 0, outcome.explain()
    applied = outcome.check("deploy.apply")
    assert applied["status"] == "fail", outcome.explain()
    assert "already holds Helm release 'owned' (sh.helm.release.v1.owned.v3)" in applied["summary"], applied
    assert live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/owned") is None


def test_an_identity_that_may_not_list_secrets_deploys_the_chart_with_a_note(tmp_path: Path, standin: StandIn) -> None:
    """The ownership check's 403 branch: the stand-in's ``deployer`` identity (a Role on the workload
    resources of team-a, Secrets withheld) cannot list Helm's release Secrets; DEPLOY logs that the check
    could not be made and goes on to apply the chart. The run is without --json: the note is DEPLOY's
    progress log, printed on stderr."""
    svc = chart_service(tmp_path, standin, "unchecked", context="deployer")
    command = [sys.executable, "-m", "bmad", "run", "-c", "bmad.yaml", "-e", "test"]
    for value in (f"image={REPOSITORY}", f"digest={digest('1')}", "no_reports=true"):
        command += ["--set", value]
    outcome = svc.bmad(command)
    output = " ".join((str(outcome.document.get("stdout", "")) + outcome.stderr).split())
    assert outcome.code == 0, output
    assert "could not check for a Helm release 'unchecked' in team-a (listing Secrets refused)" in output, output
    applied = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/unchecked")
    assert isinstance(applied, dict) and applied["spec"]["replicas"] == 2


def test_a_failed_release_of_a_chart_rolls_back_to_the_previous_rendered_bundle(
    tmp_path: Path, standin: StandIn
) -> None:
    """Rollback re-applies the rendered bundle the inventory stored for the previous release (2 replicas),
    not a new render of today's values (5 replicas)."""
    svc = chart_service(tmp_path, standin, "rolled")
    first = svc.run(digest("1"))
    assert first.code == 0, first.explain()
    (svc.repo / "chart" / "values-dev.yaml").write_text("replicas: 5\n", encoding="utf-8")
    svc.release([], "five replicas")
    standin.control("POST", "images", {"image": f"{REPOSITORY}@{digest('d')}", "behaviour": "crash"})
    second = svc.run(digest("d"))
    assert second.code != 0 and second.phase("deploy")["metrics"].get("rolled_back"), second.explain()
    back = live(standin, f"/apis/apps/v1/namespaces/{NS}/deployments/rolled")
    assert isinstance(back, dict)
    assert back["spec"]["replicas"] == 2
    assert back["spec"]["template"]["spec"]["containers"][0]["image"] == f"{REPOSITORY}@{digest('1')}"

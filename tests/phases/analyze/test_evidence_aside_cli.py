"""`bmad analyze` of a large bundle writes its readiness evidence aside (a forked child, issue 13): the
files are the bytes a run with BMAD_NO_FORK=1 writes, redacted, and in place when the command returns,
with the CI copies of the SARIF and JUnit files."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bmad.phases.analyze.checks.readiness import ASIDE_FINDINGS
from tests.engine.support import bmad
from tests.phases.analyze.test_phase import make_project

FILES = ("analyze/readiness.json", "analyze/readiness.sarif", "analyze/readiness.junit.xml")
PLANTED = "hunter2hunter2hunter2"


def _bare_deployments(count: int) -> list[dict[str, Any]]:
    """Deployments that fail a dozen readiness items each (no probes, limits, security context ...)."""
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"app{i}", "namespace": "shop", "annotations": {"note": f"password={PLANTED}"}},
            "spec": {
                "selector": {"matchLabels": {"app": f"app{i}"}},
                "template": {
                    "metadata": {"labels": {"app": f"app{i}"}},
                    "spec": {"containers": [{"name": "app", "image": "registry.example.org/app:latest"}]},
                },
            },
        }
        for i in range(count)
    ]


def _analyze(repo: Path, **env: str) -> Path:
    done = bmad("analyze", "-c", "bmad.yaml", "--force", "--reason", "test", "--json", cwd=repo, env=env, timeout=120)
    assert done.returncode in (1, 3), done.stderr  # the gate fails: bare objects
    phase = next(p for p in json.loads(done.stdout)["phases"] if p["phase"] == "analyze")
    readiness = next(c for c in phase["checks"] if c["id"] == "analyze.readiness")
    assert set(FILES) <= set(readiness["evidence_files"])
    return repo / ".bmad" / phase["evidence_dir"]


def test_the_evidence_written_aside_is_the_evidence_written_here(tmp_path: Path, git_repo: Callable[..., Path]) -> None:
    repo = make_project(tmp_path, git_repo, objects=_bare_deployments(150))
    here = _analyze(repo, BMAD_NO_FORK="1")
    aside = _analyze(repo)
    findings = sum(len(item["findings"]) for item in json.loads((here / FILES[0]).read_text())["items"])
    assert findings >= ASIDE_FINDINGS  # large enough to be written aside
    for name in FILES:
        written = (aside / name).read_bytes()
        assert written == (here / name).read_bytes(), name
        assert PLANTED.encode() not in written, name
    # published next to the documents for CI, from the files the child wrote
    (sarif,) = repo.rglob("sarif/analyze-readiness.sarif")
    assert sarif.read_bytes() == (aside / FILES[1]).read_bytes()


def test_a_printed_report_has_every_finding_not_the_artifacts_first_200_an_item(
    tmp_path: Path, git_repo: Callable[..., Path]
) -> None:
    """`bmad analyze --format sarif` printed from the readiness artifact, which keeps 200 findings an
    item: code scanning got fewer results than analyze/readiness.sarif has. It prints the whole report."""
    repo = make_project(tmp_path, git_repo, objects=_bare_deployments(230))
    done = bmad("analyze", "-c", "bmad.yaml", "--force", "--reason", "test", "--format", "sarif", cwd=repo, timeout=120)
    assert done.returncode in (1, 3), done.stderr
    printed = json.loads(done.stdout)
    (evidence,) = repo.rglob("analyze/readiness.sarif")
    written = json.loads(evidence.read_text())
    per_rule: dict[str, int] = {}
    for result in printed["runs"][0]["results"]:
        per_rule[result["ruleId"]] = per_rule.get(result["ruleId"], 0) + 1
    assert max(per_rule.values()) >= 230  # one finding a Deployment for an item every one fails
    assert len(printed["runs"][0]["results"]) == len(written["runs"][0]["results"])


def test_a_manifest_file_name_that_is_not_utf8_is_shown_as_ls_b_shows_it(
    tmp_path: Path, git_repo: Callable[..., Path]
) -> None:
    """A finding in ``k8s/12-<byte 0xfe>.yaml``: before, ``bmad analyze`` ended with an internal error
    (exit 4: UnicodeEncodeError writing phase.json) and nothing of the phase was shown."""
    repo = make_project(tmp_path, git_repo)
    odd = repo / "k8s" / os.fsdecode(b"12-\xfe.yaml")
    odd.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n  namespace: shop\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "odd name"], check=True)
    done = bmad("analyze", "-c", "bmad.yaml", "--force", "--reason", "test", "--json", cwd=repo, timeout=120)
    assert done.returncode in (0, 1, 3), done.stdout + done.stderr
    phase = next(p for p in json.loads(done.stdout)["phases"] if p["phase"] == "analyze")
    manifests = next(c for c in phase["checks"] if c["id"] == "analyze.manifests")
    shown = json.loads(json.dumps(manifests["observed"]))
    assert "k8s/12-\\xfe.yaml:5: duplicate key 'name'" in shown, shown

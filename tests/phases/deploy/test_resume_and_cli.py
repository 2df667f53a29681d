"""The whole path through the engine and the ledger on the local target (real Podman, real Prometheus):

bmad killed with SIGKILL mid-deploy, then ``bmad resume`` finishes cleanly with no orphan
containers; ``bmad rollback`` returns to the last good release and records it; ``bmad diagnose``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from bmad.config.loader import load_config
from bmad.core.models import PhaseName, PhaseResult, PhaseStatus, Release
from tests.helpers import REPO_ROOT, free_port_block, http_get
from tests.phases.deploy.conftest import PushedImage

pytestmark = [pytest.mark.engine, pytest.mark.stack, pytest.mark.slow]

ENV = "dep-resume"


def bmad_yaml(stack: Any, port_base: int, version: str) -> str:
    return textwrap.dedent(
        f"""\
        version: 1
        service: {{name: hello}}
        records: {{enabled: false}}
        environments:
          {ENV}:
            monitoring: {{prometheus_url: "{stack.prometheus_url}"}}
            target:
              kind: local
              local:
                replicas: 2
                host_port_base: {port_base}
                docker_host: "{stack.docker_host}"
                stop_timeout_seconds: 2
                env: {{HELLO_VERSION: "{version}"}}
        deploy:
          rollout_timeout_seconds: 30
          smoke: {{health_timeout_seconds: 5}}
          verification:
            window_seconds: 1
            interval_seconds: 0.5
            criteria:
              - {{name: prometheus_answers, query: "vector(1)", max: 2}}
        """
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def record_earlier_phases(config_path: Path, image: PushedImage) -> str:
    """BUILD, MEASURE and ANALYZE passed for HEAD (what those phases would have recorded)."""
    from bmad.engine.runner import open_ledger

    cfg = load_config(config_path)
    version = git(config_path.parent, "rev-parse", "HEAD")
    release = Release("hello", ENV, version)
    artifacts = {
        PhaseName.BUILD: {"image": image.repository, "image_digest": image.digest},
        PhaseName.MEASURE: {"baseline": {}},
        PhaseName.ANALYZE: {},
    }
    with open_ledger(cfg) as ledger:
        for phase, values in artifacts.items():
            ledger.record_phase(release, PhaseResult(phase, PhaseStatus.PASSED, artifacts=values))
    return version


def bmad(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bmad", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env={**os.environ, "NO_COLOR": "1"},
    )


def containers(engine: Any) -> list[Any]:
    return engine.containers.list(all=True, filters={"label": ["bmad.service=hello", f"bmad.environment={ENV}"]})


def served(port_base: int) -> set[str]:
    versions = set()
    for port in range(port_base, port_base + 4):
        status, body = http_get(f"http://127.0.0.1:{port}/", timeout=2)
        if status == 200:
            versions.add(json.loads(body)["version"])
    return versions


@pytest.mark.parametrize("kill_at", ["candidate-started", "after-cutover"])
def test_sigkill_mid_deploy_then_resume_rollback_and_diagnose(
    kill_at: str, git_repo: Any, stack: Any, engine: Any, pushed_hello: PushedImage, cleanup_service: Any
) -> None:
    cleanup_service("hello", ENV)
    for container in containers(engine):
        container.remove(force=True)
    base = free_port_block(4)
    repo = git_repo("svc", files={"bmad.yaml": bmad_yaml(stack, base, "1.0.1")})
    config_path = repo / "bmad.yaml"
    v1 = record_earlier_phases(config_path, pushed_hello)
    first = bmad("deploy", "-c", str(config_path), "--env", ENV, "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    assert served(base) == {"1.0.1"}

    config_path.write_text(bmad_yaml(stack, base, "1.0.2"))
    git(repo, "commit", "-qam", "release 2")
    v2 = record_earlier_phases(config_path, pushed_hello)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bmad", "deploy", "-c", str(config_path), "--env", ENV, "--json"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = containers(engine)
            new = [c for c in current if c.labels["bmad.release"] == v2]
            old_running = [c for c in current if c.labels["bmad.release"] == v1 and c.status == "running"]
            if kill_at == "candidate-started" and new:
                break
            if kill_at == "after-cutover" and new and not old_running:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"never reached {kill_at}")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    resumed = bmad("resume", "-c", str(config_path), "--env", ENV, "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    outcome = json.loads(resumed.stdout)
    assert [(p["phase"], p["status"]) for p in outcome["phases"]] == [("deploy", "passed")]
    assert served(base) == {"1.0.2"}
    by_release: dict[str, list[str]] = {}
    for container in containers(engine):
        by_release.setdefault(container.labels["bmad.release"], []).append(container.status)
    # Exactly the new release (running) and its rollback point (stopped): no orphan containers.
    assert sorted(by_release[v2]) == ["running", "running"], by_release
    assert sorted(by_release[v1]) == ["exited", "exited"], by_release
    assert set(by_release) == {v1, v2}

    from bmad.engine.runner import open_ledger

    with open_ledger(load_config(config_path)) as ledger:
        history = ledger.get_release("hello", ENV, v2)
        assert history is not None
        statuses = [run.status.value for run in history.runs if run.phase is PhaseName.DEPLOY]
    assert statuses == ["interrupted", "passed"], statuses

    if kill_at == "candidate-started":
        return  # bmad rollback and diagnose run once, in the other case

    rolled = bmad("rollback", "hello", "-c", str(config_path), "--env", ENV, "--json")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    report = json.loads(rolled.stdout)
    assert report["from_version"] == v2 and report["to_version"] == v1
    assert report["ledger"]["manual"] is True and report["ledger"]["mttr_seconds"] < 10
    assert served(base) == {"1.0.1"}

    diagnosed = bmad("diagnose", "-c", str(config_path), "--env", ENV, "--json")
    assert diagnosed.returncode == 0, diagnosed.stdout + diagnosed.stderr
    assert json.loads(diagnosed.stdout)["findings"] == []

"""The dashboard over the ledger of a real ``bmad run`` of examples/hello on the local stack (the README's
job, as tests/examples/test_example_run.py runs it): what the example's phases recorded, every page."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from typing import Any

import pytest

from bmad.ledger import Ledger
from tests.examples.test_example_run import _bmad, _example_copy, _git, _remove_release_containers
from tests.helpers import HELLO_DIR, free_port_block
from tests.serve.conftest import Dashboard
from tests.serve.http_client import get_ok


@pytest.mark.slow
@pytest.mark.engine
@pytest.mark.stack
@pytest.mark.timeout(300)
def test_the_pages_show_a_release_of_the_example(
    stack: Any, engine: Any, base_image: str, git_repo: Any, start_dashboard: Callable[..., Dashboard]
) -> None:
    """One release of examples/hello through every phase, then the board, its page, the metrics and the
    integrity page over that ledger (the other real-run tests use the engine tests' scripted service)."""
    repo = _example_copy(
        git_repo("hello", commit=False), stack=stack, base_image=base_image, host_port_base=free_port_block(4)
    )
    previous_rules = list(stack.settings.rule_files)
    stack.set_rule_files(sorted(glob.glob(str(HELLO_DIR / "monitoring" / "*.yml"))))
    env = {**os.environ, "DOCKER_HOST": stack.docker_host}
    for name in ("BMAD_LEDGER_URL", "BMAD_PROMETHEUS_FILE_SD_DIR"):
        env.pop(name, None)
    version = _git(repo, "rev-parse", "HEAD")
    try:
        run = _bmad("run", "-c", str(repo / "bmad.yaml"), "-e", "dev", cwd=repo, env=env, timeout=200)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        ledger = Ledger.open(f"sqlite:///{repo}/.bmad/ledger.db")
        try:
            _check_pages(start_dashboard(ledger), version)
        finally:
            ledger.close()
    finally:
        _remove_release_containers(engine, [version])
        for leftover in glob.glob(str(stack.file_sd_dir / "hello-dev*.json")):
            os.unlink(leftover)
        stack.set_rule_files(previous_rules)


def _check_pages(dashboard: Dashboard, version: str) -> None:
    board = get_ok(dashboard.url + "/")
    assert f"serving <code>{version[:12]}</code>" in board and "b-success" in board
    page = get_ok(f"{dashboard.url}/release/{dashboard.release_id('hello', 'dev', version)}")
    assert 'data-running="0"' in page and "finished: success" in page
    for phase in ("BUILD", "MEASURE", "ANALYZE", "DEPLOY"):
        assert f'<tr data-phase="{phase}"><td>{phase}</td><td><span class="badge b-passed">' in page, phase
    assert "Load test capacity curve" in page  # a first release: nothing served yet to load
    assert "Success rate per week" in get_ok(dashboard.url + "/metrics")
    assert "Verified: the hash chain of" in get_ok(dashboard.url + "/integrity")

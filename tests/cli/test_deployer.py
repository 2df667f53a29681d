"""Who deployed, through the real ``bmad`` command: recorded by ``bmad run`` from the CI's variables
(or ``git config user.email``), shown by ``bmad history`` (a column and --json) and ``bmad status --json``."""

from __future__ import annotations

import json
from pathlib import Path

from bmad.core.ci import CI_ACTOR_VARIABLES
from tests.engine.support import bmad, make_service

NO_CI = {
    name: ""
    for name in (*CI_ACTOR_VARIABLES, "GITHUB_RUN_ID", "GITHUB_EVENT_NAME", "CI_PIPELINE_URL", "CI_PIPELINE_SOURCE")
}
GITHUB = {
    **NO_CI,
    "GITHUB_ACTOR": "octocat",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/hello",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_EVENT_NAME": "workflow_dispatch",
}
RUN_URL = "https://github.com/acme/hello/actions/runs/4242"


def test_a_ci_run_records_its_actor_run_url_and_trigger(tmp_path: Path) -> None:
    """Guards issue 15 item 4: the ledger kept the run's host and pid, never the person or the CI run."""
    service = make_service(tmp_path / "svc")
    assert bmad("run", "-e", "dev", cwd=service, env=GITHUB).returncode == 0
    expected = {"actor": "octocat", "run_url": RUN_URL, "trigger": "workflow_dispatch"}
    status = json.loads(bmad("status", "-e", "dev", "--json", cwd=service).stdout)
    assert status["deployer"] == expected
    assert all(run["deployer"] == expected for run in status["history"]["runs"])
    history = json.loads(bmad("history", "-e", "dev", "--json", cwd=service).stdout)
    assert history["releases"][0]["deployer"] == expected
    header, row = bmad("history", "-e", "dev", cwd=service).stdout.splitlines()
    assert header.split()[-1] == "deployer" and row.split()[-1] == "octocat"
    text = bmad("status", "-e", "dev", cwd=service).stdout  # issue 15 item 4: the text view names them too
    assert f"DEPLOY run by octocat (workflow_dispatch, {RUN_URL})" in text.splitlines()
    assert bmad("verify-ledger", cwd=service).returncode == 0


def test_outside_ci_the_git_email_is_the_actor_and_the_trigger_manual(tmp_path: Path) -> None:
    service = make_service(tmp_path / "svc")
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\temail = dev@example.com\n\tname = Dev\n", encoding="utf-8")
    env = {**NO_CI, "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1"}
    assert bmad("build", "-e", "dev", cwd=service, env=env).returncode == 0
    status = json.loads(bmad("status", "-e", "dev", "--json", cwd=service).stdout)
    assert status["deployer"] == {"actor": "dev@example.com", "run_url": None, "trigger": "manual"}

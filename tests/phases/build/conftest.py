"""Helpers for BUILD tests: a service repository with a tiny FROM-scratch image, a phase context, a runner.

Images are built FROM scratch with the static busybox (nothing is pulled). The phase runs through
the engine's own scheduler (concurrency, needs, skips) with a real evidence folder.
"""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmad.config import load_config_text
from bmad.core.models import Release
from bmad.ledger.evidence import EvidenceFolder
from bmad.ports.phase import PhaseContext
from tests.phase_harness import NoHistory, PhaseRun, run_phase

BUSYBOX = Path("/bin/busybox")
SIMPLE_CONTAINERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY index.html /www/index.html
EXPOSE 8080
ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""


class RecordingProgress:
    """Keeps every line the phase shows the user (the tests check no secret reaches it)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def task(self, description: str, *, total: float | None = None) -> Any:
        self.lines.append(description)
        from bmad.ports.progress import NullProgress

        return NullProgress().task(description)

    def log(self, message: str) -> None:
        self.lines.append(message)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class ServiceRepo:
    path: Path
    registry: str
    name: str

    @property
    def sha(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def write(self, files: Mapping[str, str | bytes], *, commit: bool = True) -> None:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if commit:
            git(self.path, "add", "-A")
            git(self.path, "commit", "-q", "-m", "change")

    def config_text(self, build: Mapping[str, Any]) -> str:
        data = {
            "version": 1,
            "service": {"name": self.name},
            "environments": {"dev": {"risk": "low"}},
            "build": {"registry": self.registry, **build},
        }
        return yaml.safe_dump(data, sort_keys=False)

    def context(self, build: Mapping[str, Any], *, progress: RecordingProgress | None = None) -> PhaseContext:
        text = self.config_text(build)
        (self.path / "bmad.yaml").write_text(text)
        config = load_config_text(text, source=str(self.path / "bmad.yaml"))
        config = dataclasses.replace(config, source_path=str(self.path / "bmad.yaml"))
        evidence_root = self.path.parent / f"evidence-{uuid.uuid4().hex[:8]}"
        return PhaseContext(
            config=config,
            environment_name="dev",
            release=Release(
                service=self.name,
                environment="dev",
                version=self.sha,
                commit_time=datetime.fromtimestamp(int(git(self.path, "show", "-s", "--format=%ct")), tz=UTC),
            ),
            evidence=EvidenceFolder(evidence_root),
            history=NoHistory(),
            progress=progress or RecordingProgress(),
        )


def run_build(repo: ServiceRepo, build: Mapping[str, Any]) -> PhaseRun:
    from bmad.engine.wiring.build import make_plugin

    ctx = repo.context(build)
    return run_phase(make_plugin(ctx), ctx)


@pytest.fixture
def docker_host_env(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", stack.docker_host)


@pytest.fixture
def service_repo(git_repo: Callable[..., Path], stack: Any, docker_host_env: None) -> Callable[..., ServiceRepo]:
    """Factory: a committed service repo with a busybox httpd image (``extra`` files are added)."""

    def make(
        extra: Mapping[str, str | bytes] | None = None, *, containerfile: str = SIMPLE_CONTAINERFILE
    ) -> ServiceRepo:
        name = f"svc-{uuid.uuid4().hex[:8]}"
        files: dict[str, str | bytes] = {
            "Containerfile": containerfile,
            "busybox": BUSYBOX.read_bytes(),
            "index.html": "<h1>hello</h1>\n",
            ".gitignore": "reports/\n",
            **(extra or {}),
        }
        path = git_repo(name, files, commit=False)
        (path / "busybox").chmod(0o755)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "initial commit")
        return ServiceRepo(path=path, registry=stack.registry, name=name)

    return make

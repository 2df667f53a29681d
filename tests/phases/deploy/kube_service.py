"""A service repository that ``bmad run`` takes to the Kubernetes API stand-in (tests/kube_apiserver).

BUILD and MEASURE are the no-op phases of bench/noop (``BMAD_PLUGIN_BUILD``/``BMAD_PLUGIN_MEASURE``);
ANALYZE and DEPLOY are bmad's own, through the real CLI as a subprocess, against the stand-in's
kubeconfig and one of its contexts. Each release is a commit; its image digest is given with
``--set image=... --set digest=...`` as BUILD would have pushed it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.kube_apiserver.harness import StandIn

ROOT = Path(__file__).resolve().parents[3]
REPOSITORY = "registry.test/svc"
DRY_RUN_ITEM = "TQ-039"


def digest(char: str) -> str:
    return "sha256:" + char * 64


@dataclass
class Outcome:
    """What one ``bmad run`` printed (``--json``) and its exit code."""

    code: int
    document: dict[str, Any]
    stderr: str

    def phase(self, name: str) -> dict[str, Any]:
        return next((p for p in self.document.get("phases") or [] if p.get("phase") == name), {})

    def check(self, check_id: str) -> dict[str, Any]:
        for phase in self.document.get("phases") or []:
            for check in phase.get("checks") or []:
                if check.get("id") == check_id:
                    return dict(check)
        return {}

    def explain(self) -> str:
        """The checks that did not pass, with what they observed (for assertion messages)."""
        lines = [f"exit {self.code}"]
        for phase in self.document.get("phases") or []:
            lines.append(f"{phase.get('phase')}: {phase.get('status')}")
            for check in phase.get("checks") or []:
                if check.get("status") not in ("pass", "skip"):
                    lines.append(f"  {check.get('id')} {check.get('status')}: {check.get('summary')}")
                    lines.append(f"    {str(check.get('observed'))[:800]}")
        return "\n".join(lines) + "\n" + self.stderr[-3000:]


@dataclass
class KubeService:
    """A service in its own git repository whose bmad.yaml targets the stand-in."""

    repo: Path
    standin: StandIn
    name: str

    @classmethod
    def create(cls, root: Path, standin: StandIn, name: str, *, context: str, settings: dict[str, Any]) -> KubeService:
        repo = root / name
        (repo / "k8s").mkdir(parents=True)
        kubernetes = {"kubeconfig": str(standin.kubeconfig), "context": context, "deployment": name, **settings}
        config = {
            "version": 1,
            "service": {"name": name, "owner": "team-a"},
            "environments": {"test": {"target": {"kind": "kubernetes", "kubernetes": kubernetes}}},
            # The readiness catalog is ANALYZE's own subject (tests/phases/analyze); here only the server
            # dry-run item stays, next to the manifests, access, secrets, snapshot and risk checks.
            "analyze": {"manifests": "k8s", "disabled_checks": catalog_ids_but(DRY_RUN_ITEM)},
            "deploy": {
                "rollout_timeout_seconds": 30,
                "rollback_timeout_seconds": 30,
                "probe_interval_seconds": 0.1,
                "verification": {"enabled": False},
            },
        }
        (repo / "bmad.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        git(repo, "init", "-q", "-b", "main")
        return cls(repo, standin, name)

    def release(self, objects: list[dict[str, Any]], message: str) -> None:
        """Commit ``objects`` as the bundle of the next release."""
        folder = self.repo / "k8s"
        for old in folder.glob("*.yaml"):
            old.unlink()
        (folder / "bundle.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False), encoding="utf-8")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", message)

    def run(self, image_digest: str, *extra: str) -> Outcome:
        command = [sys.executable, "-m", "bmad", "run", "-c", "bmad.yaml", "-e", "test", "--json"]
        # no_reports: with every catalog item but one disabled, the HTML report cannot chart the categories
        sets = [f"image={REPOSITORY}", f"digest={image_digest}", "no_reports=true"]
        command += [arg for value in sets for arg in ("--set", value)] + list(extra)
        return self.bmad(command)

    def bmad(self, command: list[str]) -> Outcome:
        proc = subprocess.run(command, cwd=self.repo, env=bmad_env(), capture_output=True, text=True, timeout=240)
        try:
            document = json.loads(proc.stdout) if proc.stdout.strip() else {}
        except ValueError:
            document = {"stdout": proc.stdout}
        return Outcome(proc.returncode, document, proc.stderr)

    def diagnose(self) -> Outcome:
        return self.bmad([sys.executable, "-m", "bmad", "diagnose", "-c", "bmad.yaml", "-e", "test", "--json"])

    def configure(self, **settings: Any) -> None:
        """Change ``target.kubernetes`` settings in bmad.yaml (committed: a run refuses nothing dirty)."""
        path = self.repo / "bmad.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["environments"]["test"]["target"]["kubernetes"].update(settings)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        git(self.repo, "commit", "-qam", f"settings {sorted(settings)}")


def catalog_ids_but(kept: str) -> list[str]:
    from bmad.phases.analyze.catalog.loader import load_all

    return [check.entry.id for check in load_all() if check.entry.id != kept]


def bmad_env() -> dict[str, str]:
    env = {
        **os.environ,
        "BMAD_PLUGIN_BUILD": "noop.build",
        "BMAD_PLUGIN_MEASURE": "noop.measure",
        "BENCH_CHECKS": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")) if p),
        "COLUMNS": "200",
    }
    for name in ("BMAD_LEDGER_URL", "KUBECONFIG", "BMAD_ENV"):
        env.pop(name, None)
    return env


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=os.environ.copy())

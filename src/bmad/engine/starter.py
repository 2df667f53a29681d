"""``bmad init``: a commented starter ``bmad.yaml`` from what is found in the service's folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bmad.core.errors import ConfigError, UsageError

MANIFEST_DIRS = ("k8s", "kubernetes", "manifests", "deploy")
TEST_DIRS = ("tests", "test")
CONTAINERFILES = ("Containerfile", "Dockerfile")


@dataclass
class Starter:
    path: Path
    text: str
    found: dict[str, str] = field(default_factory=dict)


def _service_name(directory: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-")[:63].strip("-")
    return name or "service"


def render_starter(directory: Path, *, service: str | None = None) -> Starter:
    found: dict[str, str] = {}
    containerfile = next((n for n in CONTAINERFILES if (directory / n).is_file()), None)
    manifests = next((n for n in MANIFEST_DIRS if (directory / n).is_dir()), None)
    tests = next((n for n in TEST_DIRS if (directory / n).is_dir()), None)
    if containerfile:
        found["containerfile"] = containerfile
    if manifests:
        found["manifests"] = f"{manifests}/"
    if tests:
        found["tests"] = f"{tests}/"
    name = service or _service_name(directory)

    blocks: list[tuple[str, bool]] = []  # (text, optional)
    blocks.append(
        (
            f"""# bmad.yaml: how bmad takes this service through BUILD -> MEASURE -> ANALYZE -> DEPLOY.
# Written by 'bmad init'; check it with 'bmad config check'. Secrets are never written here:
# reference them as {{env: NAME}} or {{file: path}}.
version: 1

service:
  name: {name}
  repository: .            # the git repository (the release version is its HEAD commit)

# Named environments with their risk level. production refuses a dirty tree and treats
# warnings as failures (override with allow_dirty / warn_as_fail).
environments:
  dev:
    risk: low
  staging:
    risk: medium
  production:
    risk: high
    production: true

state_dir: .bmad           # ledger (SQLite) and evidence folders; BMAD_LEDGER_URL for PostgreSQL

# Phase records are committed to this branch (the working tree is never touched).
records:
  branch: bmad/records
  push: false
""",
            False,
        )
    )
    build_lines = ["", "build:"]
    if containerfile:
        build_lines.append(f"  containerfile: {containerfile}   # found")
    else:
        build_lines.append("  # containerfile: Containerfile   # none found: add one")
    build_lines.append("  context: .")
    build_lines.append("  registry: 127.0.0.1:5000")
    if tests:
        build_lines += [
            "  suites:                  # found a tests folder",
            "    - name: unit",
            f"      command: [python, -m, pytest, -q, {tests}]",
        ]
    blocks.append(("\n".join(build_lines) + "\n", True))
    if manifests:
        blocks.append(
            (
                f"\nanalyze:\n  manifests: {manifests}   # found: Kubernetes manifests\n",
                True,
            )
        )
    else:
        blocks.append(("\n# analyze:\n#   manifests: k8s   # a folder of Kubernetes manifests\n", False))
    return Starter(path=directory / "bmad.yaml", text=_validated(blocks), found=found)


def _validated(blocks: list[tuple[str, bool]]) -> str:
    """Keep optional blocks only if the whole file still validates (otherwise they are commented out)."""
    from bmad.config.loader import load_config_text

    text = ""
    for block, optional in blocks:
        candidate = text + block
        if optional:
            try:
                load_config_text(candidate, source="bmad.yaml")
            except ConfigError:
                candidate = text + "".join(
                    ("# " + line if line.strip() else line) + "\n" for line in block.splitlines()
                )
        text = candidate
    return text


def write_starter(directory: Path, *, force: bool = False, service: str | None = None) -> Starter:
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder")
    starter = render_starter(directory, service=service)
    if starter.path.exists() and not force:
        raise UsageError(f"{starter.path} already exists", hint="pass --force to overwrite it")
    tmp = starter.path.with_name(".bmad.yaml.tmp")
    tmp.write_text(starter.text, encoding="utf-8")
    tmp.replace(starter.path)
    return starter

"""``bmad init``: a commented starter ``bmad.yaml`` from what is found in the service's folder.

The comments beside the settings are the config fields' own descriptions (``Field(description=...)``
in :mod:`bmad.config`), so the starter file and the config reference say the same thing.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import field
from pathlib import Path

from bmad.config.analyze import AnalyzeConfig
from bmad.config.models import BmadConfig, ServiceConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import ConfigError, UsageError
from bmad.core.files import write_atomic

MANIFEST_DIRS = ("k8s", "kubernetes", "manifests", "deploy")
TEST_DIRS = ("tests", "test")
CONTAINERFILES = ("Containerfile", "Dockerfile")
_COMMENT_COLUMN = 27

Block = tuple[str, bool]  # (text, optional: commented out when the file would not validate with it)


@datatype
class Starter:
    """The starter ``bmad.yaml`` ``bmad init`` writes, and what it found in the folder to fill it."""

    path: Path
    text: str
    found: dict[str, str] = field(default_factory=dict)


def _service_name(directory: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-")[:63].strip("-")
    return name or "service"


def _inline(setting: str, comment: str) -> str:
    """``setting`` with ``# comment`` beside it, comments aligned."""
    return f"{setting:<{_COMMENT_COLUMN}}# {comment}"


def _above(comment: str) -> str:
    """``comment`` as ``#`` lines above a section."""
    return "\n".join(textwrap.wrap(comment, width=88, initial_indent="# ", subsequent_indent="# "))


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
    blocks = [
        (_core_block(service or _service_name(directory)), False),
        _build_block(containerfile, tests),
        _analyze_block(manifests),
    ]
    return Starter(path=directory / "bmad.yaml", text=_validated(blocks), found=found)


def _core_block(name: str) -> str:
    """Service, environments, state folder and records: what every bmad.yaml has."""
    return f"""# bmad.yaml: how bmad takes this service through BUILD -> MEASURE -> ANALYZE -> DEPLOY.
# Written by 'bmad init'; check it with 'bmad config check'. Secrets are never written here:
# reference them as {{env: NAME}} or {{file: path}}.
version: 1

service:
  name: {name}
{_inline("  repository: .", ServiceConfig.help("repository"))}

{_above(BmadConfig.help("environments"))}
environments:
  dev:
    risk: low
  staging:
    risk: medium
  production:
    risk: high
    production: true

{_inline("state_dir: .bmad", BmadConfig.help("state_dir"))}

{_above(BmadConfig.help("records"))}
records:
  branch: bmad/records
  push: false
"""


def _build_block(containerfile: str | None, tests: str | None) -> Block:
    lines = ["", "build:"]
    if containerfile:
        lines.append(f"  containerfile: {containerfile}   # found")
    else:
        lines.append("  # containerfile: Containerfile   # none found: add one")
    lines.append("  context: .")
    lines.append("  registry: 127.0.0.1:5000")
    if tests:
        lines += [
            "  suites:                  # found a tests folder",
            "    - name: unit",
            f"      command: [python, -m, pytest, -q, {tests}]",
        ]
    return "\n".join(lines) + "\n", True


def _analyze_block(manifests: str | None) -> Block:
    if manifests:
        return f"\nanalyze:\n  manifests: {manifests}   # found: Kubernetes manifests\n", True
    return f"\n# analyze:\n#   manifests: k8s   # {AnalyzeConfig.help('manifests')}\n", False


def _validated(blocks: list[Block]) -> str:
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
    write_atomic(starter.path, starter.text, 0o644, dir_mode=0o755)
    return starter

"""The local stack made ready for the demo: the example's alert rules, the base image, no old replicas."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bmad.core.errors import BmadError, UsageError
from bmad.demo.workdir import ENVIRONMENT, SERVICE

if TYPE_CHECKING:
    from bmad.stack import StackInfo

Say = Callable[[str], None]


def add_rule_files(stack: StackInfo, examples: Path) -> None:
    """Load the example's Prometheus rules into the stack (kept with the ones it has)."""
    rules = sorted(str(p) for p in (examples / "hello" / "monitoring").glob("*.yml"))
    current_rules = list(stack.settings.rule_files)
    if rules and not set(rules) <= set(current_rules):
        stack.set_rule_files(sorted(set(current_rules) | set(rules)))


def build_base_image(examples: Path, docker_host: str, say: Say) -> str:
    """The example's Python base image, built by its own script (reused when already there)."""
    builder_path = examples / "base" / "build_base.py"
    spec = importlib.util.spec_from_file_location("bmad_demo_build_base", builder_path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {builder_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from bmad.adapters.engine_client import connect_engine

    client = connect_engine(docker_host)
    try:
        say("base image: building (or reusing) the local Python base image ...")
        return str(module.build_base_image(client))
    finally:
        client.close()


def wait_alertmanager_discovered(prometheus_url: str, timeout: float = 15.0) -> None:
    """A freshly (re)configured Prometheus needs a moment before it lists its Alertmanager; MEASURE checks it."""
    from bmad.adapters._http import HttpClient

    client = HttpClient("prometheus", prometheus_url, timeout=5.0)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = client.get_json("/api/v1/alertmanagers", action="listing alertmanagers")
            except BmadError:
                data = {}
            found = data.get("data") if isinstance(data, dict) else None
            if isinstance(found, dict) and found.get("activeAlertmanagers"):
                return
            time.sleep(0.2)
    finally:
        client.close()


def remove_demo_containers(docker_host: str, environment: str = ENVIRONMENT) -> int:
    """Remove the replicas an earlier demo left for (hello, ``environment``); returns how many.

    Only containers bmad labelled as its own for that service and environment are touched.
    """
    from bmad.adapters.engine_client import connect_engine

    client = connect_engine(docker_host)
    try:
        labels = ["bmad.managed-by=bmad", f"bmad.service={SERVICE}", f"bmad.environment={environment}"]
        containers = client.containers.list(all=True, filters={"label": labels})
        for container in containers:
            container.remove(force=True)
        return len(containers)
    finally:
        client.close()


def discovery_file(stack: StackInfo, environment: str = ENVIRONMENT) -> Path:
    """The file through which the stack's Prometheus finds the example's serving replicas (where the
    local target writes it: the demo's ``target.local.prometheus_file_sd`` is the stack's folder)."""
    from bmad.adapters.targets.local.file_sd import file_sd_path

    path = file_sd_path(str(stack.file_sd_dir), SERVICE, environment)
    assert path is not None  # None only without a folder
    return Path(path)


def serving_addresses(stack: StackInfo, environment: str = ENVIRONMENT) -> list[str]:
    """The host:port of each replica the example serves from, as its discovery file lists them."""
    import json

    try:
        groups = json.loads(discovery_file(stack, environment).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(groups, list):
        return []
    return [str(t) for g in groups if isinstance(g, dict) for t in g.get("targets") or []]


def remove_demo(stack: StackInfo, environment: str = ENVIRONMENT) -> int:
    """Remove what a demo leaves serving for (hello, ``environment``): its replicas and the stack's
    discovery file for them. Returns how many containers were removed; the stack keeps running."""
    removed = remove_demo_containers(stack.docker_host, environment)
    discovery_file(stack, environment).unlink(missing_ok=True)
    return removed

"""The demo itself: a good release, then a bad one that DEPLOY rolls back; the metrics after."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bmad.demo.config import DEMO_WEBHOOK_ENV, FAULT, demo_config, move_e2e_port, write_config
from bmad.demo.results import DemoRelease, DemoResult
from bmad.demo.stack_prep import (
    Say,
    add_rule_files,
    build_base_image,
    remove_demo_containers,
    serving_addresses,
    wait_alertmanager_discovered,
)
from bmad.demo.workdir import ENVIRONMENT, SERVICE, copy_example, find_examples, free_port_block, git, prepare_workdir
from bmad.engine.publish import publish_release_outputs
from bmad.ports.phase import RunOptions

if TYPE_CHECKING:
    from bmad.reports.metrics import FrameworkMetrics
    from bmad.stack import StackInfo


def run_demo(
    directory: Path,
    *,
    stack_dir: Path = Path(".stack"),
    stack: StackInfo | None = None,
    examples: Path | None = None,
    host_port_base: int | None = None,
    environment: str = ENVIRONMENT,
    say: Say = print,
    notify_webhook: str | None = None,
) -> DemoResult:
    """Run the demo; returns what happened (``ok`` when release 1 succeeded and release 2 rolled back).

    ``environment`` names the example's ``dev`` environment in the demo (tests give a unique name so
    parallel sessions on one container engine never share replicas). ``notify_webhook``: a URL told
    about each run (a signed JSON POST, see docs/notifications.md).
    """
    started = time.monotonic()
    if notify_webhook:
        os.environ[DEMO_WEBHOOK_ENV] = notify_webhook  # referenced by the demo's config as {env: ...}
    examples_dir = find_examples(examples)
    if stack is None:
        from bmad.stack import up

        say(f"stack: starting (or reusing) the local stack in {stack_dir} ...")
        stack = up(stack_dir)
    example_cfg = yaml.safe_load((examples_dir / "hello" / "bmad.yaml").read_text(encoding="utf-8"))
    base_port = host_port_base or free_port_block(2 * _replicas(example_cfg))
    base_image = _prepare_stack(stack, examples_dir, environment, say)

    workdir = prepare_workdir(directory)
    repo = copy_example(examples_dir, workdir)
    config_path = repo / "bmad.yaml"
    e2e_port = move_e2e_port(repo, example_cfg, free_port_block(1))
    ready = stack  # narrowed for the closure

    def write(fault: str | None) -> None:
        data = demo_config(
            example_cfg,
            stack=ready,
            host_port_base=base_port,
            base_image=base_image,
            fault=fault,
            environment=environment,
            e2e_port=e2e_port,
            notify=bool(notify_webhook),
        )
        write_config(config_path, data)

    releases = _two_releases(repo, config_path, environment, stack, write, say)
    metrics, files = _framework_metrics(config_path, environment)
    return DemoResult(
        workdir=workdir,
        config_path=config_path,
        stack_root=stack.root,
        releases=releases,
        metrics=metrics,
        metrics_files=files,
        seconds=time.monotonic() - started,
        environment=environment,
        serving=serving_addresses(stack, environment),
    )


def _replicas(example_cfg: dict[str, Any]) -> int:
    """How many replicas the example's ``dev`` environment runs (each needs a host port per slot)."""
    return int(
        (((example_cfg.get("environments") or {}).get(ENVIRONMENT) or {}).get("target") or {})
        .get("local", {})
        .get("replicas", 2)
    )


def _prepare_stack(stack: StackInfo, examples: Path, environment: str, say: Say) -> str:
    """Rules loaded, Alertmanager discovered, the base image built, an earlier demo's replicas gone."""
    add_rule_files(stack, examples)
    wait_alertmanager_discovered(stack.prometheus_url)
    say(f"stack: registry {stack.registry}, Prometheus {stack.prometheus_url}, Pushgateway {stack.pushgateway_url}")
    base_image = build_base_image(examples, stack.docker_host, say)
    removed = remove_demo_containers(stack.docker_host, environment)
    if removed:
        say(f"removed {removed} container(s) of an earlier demo ({SERVICE}/{environment})")
    # ... and the discovery file listing them (Prometheus would scrape dead replicas until release 1).
    (stack.file_sd_dir / f"{SERVICE}-{environment}.json").unlink(missing_ok=True)
    return base_image


def _two_releases(
    repo: Path,
    config_path: Path,
    environment: str,
    stack: StackInfo,
    write: Callable[[str | None], None],
    say: Say,
) -> list[DemoRelease]:
    """Release 1 as the example is; release 2 with the fault committed."""
    write(None)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hello: first release")
    releases = [_release(config_path, environment, "release 1 (good)", stack, say)]
    write(FAULT)
    git(repo, "commit", "-q", "-am", f"hello: a bad change (HELLO_FAULT={FAULT}: about half of / answers 500)")
    releases.append(_release(config_path, environment, "release 2 (bad)", stack, say))
    return releases


def _framework_metrics(config_path: Path, environment: str) -> tuple[FrameworkMetrics, dict[str, Path]]:
    """The framework-metrics table over both releases, and the files it was written to."""
    from bmad.config.loader import load_config
    from bmad.engine.opening import open_ledger
    from bmad.reports.metrics import framework_metrics
    from bmad.reports.outputs import write_metrics_outputs

    config = load_config(config_path)
    ledger = open_ledger(config)
    try:
        metrics = framework_metrics(ledger, service=SERVICE, environment=environment)
    finally:
        ledger.close()
    files = write_metrics_outputs(metrics, config.resolve_path(config.reports.output_dir) / SERVICE / environment)
    return metrics, files


def _release(config_path: Path, environment: str, label: str, stack: StackInfo, say: Say) -> DemoRelease:
    """One release through B -> M -> A -> D in one run of the engine.

    The local target rewrites the stack's service-discovery file at cut-over and rollback, so
    Prometheus scrapes exactly the serving replicas: MEASURE sees the live release, DEPLOY's
    verification the new one. The runner publishes the documents and bmad's own metrics at the
    end of the run (``outcome.published``); they are only written here when it did not.
    """
    from bmad.config.loader import load_config
    from bmad.engine.opening import open_ledger
    from bmad.engine.runner import run_release
    from bmad.reports.source import release_view

    config = load_config(config_path)
    say(f"{label}: B -> M -> A -> D ...")
    started = time.monotonic()

    def on_phase(phase: Any) -> None:
        result = phase.result
        counts = result.counts()
        say(
            f"  {result.phase.label:<8} {result.status.value:<7} {result.duration_seconds:6.1f} s  "
            f"({counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail, {counts['skip']} skip)"
        )

    options = RunOptions(docker_host=stack.docker_host)
    outcome = run_release(config, environment, options=options, on_phase=on_phase)
    ledger = open_ledger(config)
    try:
        published = outcome.published or publish_release_outputs(config, environment, outcome.release, ledger)
        history = ledger.get_release(SERVICE, environment, outcome.release.version)
        view = release_view(history) if history is not None else None
    finally:
        ledger.close()
    phases = outcome.phases
    result = DemoRelease(
        label=label,
        version=outcome.release.version,
        outcome=view.outcome.value if view is not None else "not recorded",
        exit_code=int(outcome.exit_code),
        message=outcome.message,
        phases={p.phase.value: p.result.status.value for p in phases},
        published=published,
        seconds=time.monotonic() - started,
        failures=[f"{c.id}: {c.summary or c.observed}" for p in phases for c in p.result.failures()],
    )
    say(f"{label}: {result.outcome} in {result.seconds:.0f} s")
    for sent in outcome.notifications:
        say(f"  notified {sent.channel}: {sent.event} ({'delivered' if sent.delivered else sent.reason})")
    for failure in result.failures:
        say(f"  ✗ {failure}")
    return result

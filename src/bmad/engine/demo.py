"""``bmad demo``: the example service through B -> M -> A -> D twice, on the local stack.

1. Bring up the local stack (idempotent). Its Prometheus finds the example's replicas through
   file-based service discovery: the local target writes the serving release's replicas into the
   stack's ``file_sd`` folder at each cut-over and rollback.
2. Copy ``examples/hello`` into a work folder as a fresh git repository; adapt its ``bmad.yaml``
   to the stack (registry, Prometheus, Pushgateway, Docker API, free host ports) and to a short
   demo timing (small load test, short verification window with light traffic).
3. Release 1 (good): one ``run_release`` (B -> M -> A -> D); the runner writes the documents and
   pushes bmad's own metrics at the end of the run.
4. Commit a bad change (``HELLO_FAULT=errors`` with ``HELLO_ERRORS_AFTER=5``: past its first requests,
   about half of ``/`` answers 500), release 2:
   post-deploy verification sees the error ratio, DEPLOY rolls back automatically.
5. Print where the runbooks and reports are, and the framework-metrics table.

The engine may import every layer; this module is glue only.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bmad.core.errors import BmadError, UsageError
from bmad.engine.publish import Published, publish_release_outputs

if TYPE_CHECKING:
    from bmad.reports.metrics import FrameworkMetrics
    from bmad.stack import StackInfo

Say = Callable[[str], None]

MARKER = ".bmad-demo"
SERVICE = "hello"
ENVIRONMENT = "dev"
FAULT = "errors"
ERRORS_AFTER = 5  # requests to "/" per replica answered normally before the errors begin
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bmad demo",
    "GIT_AUTHOR_EMAIL": "bmad-demo@example.invalid",
    "GIT_COMMITTER_NAME": "bmad demo",
    "GIT_COMMITTER_EMAIL": "bmad-demo@example.invalid",
}
COPY_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", "reports", ".bmad", "*.pyc")

# The post-deploy verification the demo uses when the example's bmad.yaml has no criteria: the
# share of 5xx answers and the p95 latency over the last 10 s, with bmad sending light traffic to
# "/" meanwhile ("or vector(0)": a service that never answered 5xx has no such series, which is not
# "no data").
DEMO_CRITERIA = [
    {
        "name": "error_rate",  # the name of MEASURE's baseline figure, so reports put them side by side
        "query": (
            '(sum(rate(http_requests_total{job="$job",code=~"5.."}[10s])) or vector(0)) '
            '/ sum(rate(http_requests_total{job="$job"}[10s]))'
        ),
        "max": 0.05,
    },
    {
        "name": "p95_latency",
        "query": (
            'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="$job"}[10s])))'
        ),
        "max": 0.5,
        "no_data": "warn",
    },
]


# ---------------------------------------------------------------------- the demo


@dataclass
class DemoRelease:
    label: str
    version: str
    outcome: str
    exit_code: int
    message: str
    phases: dict[str, str]
    published: Published
    seconds: float
    failures: list[str] = field(default_factory=list)  # "check id: summary" of every failed check

    def to_dict(self) -> dict[str, Any]:
        return {
            "failures": self.failures,
            "label": self.label,
            "version": self.version,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "message": self.message,
            "phases": self.phases,
            "seconds": round(self.seconds, 3),
            **self.published.to_dict(),
        }


@dataclass
class DemoResult:
    workdir: Path
    config_path: Path
    stack_root: Path
    releases: list[DemoRelease]
    metrics: FrameworkMetrics
    metrics_files: dict[str, Path]
    seconds: float

    @property
    def ok(self) -> bool:
        outcomes = [r.outcome for r in self.releases]
        return outcomes == ["success", "rolled_back"]

    def summary_lines(self) -> list[str]:
        lines = [f"bmad demo: {self.workdir} ({self.seconds:.0f} s)"]
        for release in self.releases:
            lines.append(f"  {release.label}: {release.version[:12]} -> {release.outcome} ({release.message})")
            outputs = release.published.outputs
            if outputs is not None:
                for key in ("runbook_md", "runbook_html", "checklist_md", "report_html"):
                    if key in outputs.files:
                        lines.append(f"      {key.replace('_', ' '):<14} {outputs.files[key]}")
            for problem in release.published.problems:
                lines.append(f"      problem: {problem}")
        for key, path in self.metrics_files.items():
            lines.append(f"  {key.replace('_', ' '):<14} {path}")
        if not self.ok:
            lines.append("  expected: release 1 success, release 2 rolled back")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "workdir": str(self.workdir),
            "config": str(self.config_path),
            "stack": str(self.stack_root),
            "seconds": round(self.seconds, 3),
            "releases": [r.to_dict() for r in self.releases],
            "metrics": self.metrics.to_dict(),
            "metrics_files": {k: str(v) for k, v in self.metrics_files.items()},
        }


def find_examples(explicit: Path | None = None) -> Path:
    """The ``examples`` folder of a bmad checkout: explicit, BMAD_EXAMPLES_DIR, ./examples, or next to the package."""
    candidates = [explicit] if explicit else []
    if os.environ.get("BMAD_EXAMPLES_DIR"):
        candidates.append(Path(os.environ["BMAD_EXAMPLES_DIR"]))
    candidates += [Path.cwd() / "examples", Path(__file__).resolve().parents[3] / "examples"]
    for candidate in candidates:
        if candidate is not None and (candidate / "hello" / "bmad.yaml").is_file():
            return candidate.resolve()
    raise UsageError(
        "the example service (examples/hello) was not found",
        hint="run 'bmad demo' from a bmad checkout, or set BMAD_EXAMPLES_DIR to its examples folder",
    )


def ephemeral_port_floor(default: int = 32768) -> int:
    """The lowest port the kernel hands to outgoing connections (Linux: ip_local_port_range)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def free_port_block(count: int, *, start: int = 20000, end: int = 40000) -> int:
    """The first port of ``count`` consecutive ports that are free on 127.0.0.1 right now.

    Chosen below the kernel's ephemeral range when it can be: the local target restarts the previous
    release on its old ports to roll back, and a port in that range can meanwhile be taken by any
    outgoing connection (seen: a rollback failing with "address already in use").
    """
    import random

    end = min(end, max(start + count + 1, ephemeral_port_floor()))
    for _ in range(200):
        base = random.randrange(start, end - count)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise UsageError(f"no block of {count} free ports found on 127.0.0.1")


def prepare_workdir(directory: Path) -> Path:
    """An empty work folder; one left by an earlier demo (it has the marker file) is wiped."""
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise UsageError(
                f"{directory} exists and was not made by 'bmad demo'",
                hint="choose another folder with --dir, or remove it",
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by 'bmad demo'; removed by the next run\n", encoding="utf-8")
    return directory


def _git(repo: Path, *args: str) -> str:
    from bmad.adapters._process import run_command

    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, **GIT_IDENTITY}
    result = run_command(["git", *args], cwd=repo, env=env, timeout=60, check=True)
    return result.stdout.strip()


def demo_config(
    example: Mapping[str, Any],
    *,
    stack: StackInfo,
    host_port_base: int,
    base_image: str,
    fault: str | None = None,
    environment: str = ENVIRONMENT,
    e2e_port: int | None = None,
) -> dict[str, Any]:
    """The example's bmad.yaml adapted to the stack and to a short demo.

    Only the example's ``dev`` environment is kept, under the name ``environment``. ``e2e_port``:
    the host port the e2e suite's container publishes (see :func:`move_e2e_port`).
    """
    data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(example)))  # deep copy, plain types
    env = data.get("environments", {}).get(ENVIRONMENT) or {"risk": "low"}
    target = env.setdefault("target", {})
    target["kind"] = "local"
    local = target.setdefault("local", {})
    local["host_port_base"] = host_port_base
    local["docker_host"] = stack.docker_host
    # Prometheus discovers the serving replicas from the file the target writes (either port slot).
    local["prometheus_file_sd"] = str(stack.file_sd_dir)
    local.setdefault("replicas", 2)
    local_env = dict(local.get("env") or {})
    local_env.pop("HELLO_FAULT", None)
    local_env.pop("HELLO_ERRORS_AFTER", None)
    if fault:
        local_env["HELLO_FAULT"] = fault
        # The regression shows under sustained traffic, past the smoke tests: post-deploy
        # verification is what catches it (the demo's point), not the smoke suite by chance.
        local_env["HELLO_ERRORS_AFTER"] = str(ERRORS_AFTER)
    local["env"] = local_env
    monitoring = env.setdefault("monitoring", {})
    monitoring["prometheus_url"] = stack.prometheus_url
    monitoring["pushgateway_url"] = stack.pushgateway_url
    monitoring["alertmanager_url"] = stack.alertmanager_url
    monitoring.pop("service_url", None)
    data["environments"] = {environment: env}

    build = data.setdefault("build", {})
    build["registry"] = stack.registry
    build.setdefault("build_args", {})["BASE"] = base_image
    if e2e_port is not None:
        for suite in build.get("suites") or []:
            suite_env = suite.get("env") or {}
            if suite.get("environment") and "HELLO_URL" in suite_env:
                suite_env["HELLO_URL"] = f"http://127.0.0.1:{e2e_port}"

    measure = data.setdefault("measure", {})
    # A short verification window needs a short rate window: over 1m, the load test MEASURE ran a few
    # seconds earlier (thousands of good answers) would dilute the bad release's errors.
    measure["rate_window"] = "10s"
    measure.setdefault("target_wait_seconds", 5)
    measure["baseline_window_seconds"] = min(float(measure.get("baseline_window_seconds", 60)), 60.0)
    measure["baseline_step_seconds"] = min(float(measure.get("baseline_step_seconds", 5)), 5.0)
    load = measure.setdefault("load_test", {})
    load["levels"] = [level for level in load.get("levels", [1, 4, 16]) if level <= 16] or [1, 4, 16]
    load["duration_seconds"] = min(float(load.get("duration_seconds") or 1.5), 1.5)
    load.setdefault("workers", 1)

    deploy = data.setdefault("deploy", {})
    verification = deploy.setdefault("verification", {})
    verification["enabled"] = True
    verification["window_seconds"] = min(float(verification.get("window_seconds", 8)), 8.0)
    verification["interval_seconds"] = min(float(verification.get("interval_seconds", 2)), 2.0)
    verification["settle_seconds"] = min(float(verification.get("settle_seconds", 3)), 3.0)
    verification.setdefault("traffic_path", "/")
    verification["traffic_rps"] = max(float(verification.get("traffic_rps", 20)), 20.0)
    criteria = verification.setdefault("criteria", [])
    if not criteria:
        criteria.extend(dict(c) for c in DEMO_CRITERIA)
    deploy.setdefault("rollout_timeout_seconds", 60)
    return data


def move_e2e_port(repo: Path, example: Mapping[str, Any], port: int) -> int | None:
    """Publish the e2e suite's container on ``port`` instead of the example's fixed one.

    The example's e2e environment (a compose file) publishes a fixed host port; two runs of the
    example on one machine (the demo, the tests, a user's ``bmad run``) would fight over it. The
    copy's compose file and the suite's ``HELLO_URL`` get ``port``; returns it, or None when the
    example has no such suite.
    """
    import re

    for suite in ((example.get("build") or {}).get("suites")) or []:
        url = str((suite.get("env") or {}).get("HELLO_URL") or "")
        compose = ((suite.get("environment") or {}).get("compose")) if isinstance(suite, Mapping) else None
        found = re.search(r":(\d+)/?$", url)
        if not compose or not found:
            continue
        path = repo / str(compose)
        text = path.read_text(encoding="utf-8")
        moved = text.replace(f"127.0.0.1:{found.group(1)}:", f"127.0.0.1:{port}:")
        if moved != text:
            path.write_text(moved, encoding="utf-8")
            return port
    return None


def _write_config(path: Path, data: Mapping[str, Any]) -> None:
    header = (
        "# Written by 'bmad demo' from examples/hello/bmad.yaml: adapted to the local stack's ports and\n"
        "# to a short demo (small load test, 8 s verification window).\n"
    )
    path.write_text(header + yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")


def _build_base_image(examples: Path, docker_host: str, say: Say) -> str:
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


def _wait_alertmanager_discovered(prometheus_url: str, timeout: float = 15.0) -> None:
    """A freshly (re)configured Prometheus needs a moment before it lists its Alertmanager; MEASURE checks it."""
    from bmad.adapters._http import HttpClient

    client = HttpClient("prometheus", prometheus_url, timeout=5.0)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = client.request("GET", "/api/v1/alertmanagers", action="listing alertmanagers").json()
            except BmadError:
                data = {}
            if (data.get("data") or {}).get("activeAlertmanagers"):
                return
            time.sleep(0.2)
    finally:
        client.close()


def run_demo(
    directory: Path,
    *,
    stack_dir: Path = Path(".stack"),
    stack: StackInfo | None = None,
    examples: Path | None = None,
    host_port_base: int | None = None,
    environment: str = ENVIRONMENT,
    say: Say = print,
) -> DemoResult:
    """Run the demo; returns what happened (``ok`` when release 1 succeeded and release 2 rolled back).

    ``environment`` names the example's ``dev`` environment in the demo (tests give a unique name so
    parallel sessions on one container engine never share replicas).
    """
    from bmad.config.loader import load_config
    from bmad.engine.runner import open_ledger
    from bmad.reports.outputs import framework_metrics, write_metrics_outputs

    started = time.monotonic()
    examples_dir = find_examples(examples)
    if stack is None:
        from bmad.stack import up

        say(f"stack: starting (or reusing) the local stack in {stack_dir} ...")
        stack = up(stack_dir)
    example_cfg = yaml.safe_load((examples_dir / "hello" / "bmad.yaml").read_text(encoding="utf-8"))
    replicas = int(
        (((example_cfg.get("environments") or {}).get(ENVIRONMENT) or {}).get("target") or {})
        .get("local", {})
        .get("replicas", 2)
    )
    base_port = host_port_base or free_port_block(2 * replicas)
    rules = sorted(str(p) for p in (examples_dir / "hello" / "monitoring").glob("*.yml"))
    current_rules = list(stack.settings.rule_files)
    if rules and not set(rules) <= set(current_rules):
        stack.set_rule_files(sorted(set(current_rules) | set(rules)))
    _wait_alertmanager_discovered(stack.prometheus_url)
    say(f"stack: registry {stack.registry}, Prometheus {stack.prometheus_url}, Pushgateway {stack.pushgateway_url}")
    base_image = _build_base_image(examples_dir, stack.docker_host, say)
    removed = remove_demo_containers(stack.docker_host, environment)
    if removed:
        say(f"removed {removed} container(s) of an earlier demo ({SERVICE}/{environment})")
    # ... and the discovery file listing them (Prometheus would scrape dead replicas until release 1).
    (stack.file_sd_dir / f"{SERVICE}-{environment}.json").unlink(missing_ok=True)

    workdir = prepare_workdir(directory)
    repo = workdir / SERVICE
    shutil.copytree(examples_dir / "hello", repo, ignore=COPY_IGNORE)
    ignore = repo / ".gitignore"
    existing = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    ignore.write_text(existing + "".join(f"{p}\n" for p in ("reports/", ".bmad/") if p not in existing), "utf-8")
    config_path = repo / "bmad.yaml"
    e2e_port = move_e2e_port(repo, example_cfg, free_port_block(1))

    def write_config(fault: str | None) -> None:
        data = demo_config(
            example_cfg,
            stack=stack,
            host_port_base=base_port,
            base_image=base_image,
            fault=fault,
            environment=environment,
            e2e_port=e2e_port,
        )
        _write_config(config_path, data)

    write_config(None)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hello: first release")

    releases = [_release(config_path, environment, "release 1 (good)", stack, say)]
    write_config(FAULT)
    _git(repo, "commit", "-q", "-am", f"hello: a bad change (HELLO_FAULT={FAULT}: about half of / answers 500)")
    releases.append(_release(config_path, environment, "release 2 (bad)", stack, say))

    config = load_config(config_path)
    ledger = open_ledger(config)
    try:
        metrics = framework_metrics(ledger, service=SERVICE, environment=environment)
    finally:
        ledger.close()
    files = write_metrics_outputs(metrics, config.resolve_path(config.reports.output_dir) / SERVICE / environment)
    return DemoResult(
        workdir=workdir,
        config_path=config_path,
        stack_root=stack.root,
        releases=releases,
        metrics=metrics,
        metrics_files=files,
        seconds=time.monotonic() - started,
    )


def _release(config_path: Path, environment: str, label: str, stack: StackInfo, say: Say) -> DemoRelease:
    """One release through B -> M -> A -> D in one run of the engine.

    The local target rewrites the stack's service-discovery file at cut-over and rollback, so
    Prometheus scrapes exactly the serving replicas: MEASURE sees the live release, DEPLOY's
    verification the new one. The runner publishes the documents and bmad's own metrics at the
    end of the run (``outcome.published``); they are only written here when it did not.
    """
    from bmad.config.loader import load_config
    from bmad.engine.runner import open_ledger, run_release
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

    outcome = run_release(config, environment, options={"docker_host": stack.docker_host}, on_phase=on_phase)
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
    for failure in result.failures:
        say(f"  ✗ {failure}")
    return result


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

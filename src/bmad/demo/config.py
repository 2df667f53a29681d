"""The example's ``bmad.yaml`` adapted to the local stack and to a short demo."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bmad.demo.workdir import ENVIRONMENT

if TYPE_CHECKING:
    from bmad.stack import StackInfo

FAULT = "errors"
# ``bmad demo --notify-webhook URL`` puts the URL here; the demo's config references it ({env: ...}).
DEMO_WEBHOOK_ENV = "BMAD_DEMO_WEBHOOK_URL"
ERRORS_AFTER = 5  # requests to "/" per replica answered normally before the errors begin

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


def demo_config(
    example: Mapping[str, Any],
    *,
    stack: StackInfo,
    host_port_base: int,
    base_image: str,
    fault: str | None = None,
    environment: str = ENVIRONMENT,
    e2e_port: int | None = None,
    notify: bool = False,
) -> dict[str, Any]:
    """The example's bmad.yaml adapted to the stack and to a short demo.

    Only the example's ``dev`` environment is kept, under the name ``environment``. ``e2e_port``:
    the host port the e2e suite's container publishes (see :func:`move_e2e_port`). ``notify``: the
    environment notifies a webhook whose URL is in :data:`DEMO_WEBHOOK_ENV`.
    """
    data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(example)))  # deep copy, plain types
    env = data.get("environments", {}).get(ENVIRONMENT) or {"risk": "low"}
    _adapt_target(env, stack, host_port_base, fault)
    monitoring = env.setdefault("monitoring", {})
    monitoring["prometheus_url"] = stack.prometheus_url
    monitoring["pushgateway_url"] = stack.pushgateway_url
    monitoring["alertmanager_url"] = stack.alertmanager_url
    monitoring.pop("service_url", None)
    if notify:
        channel = {"name": "demo-webhook", "type": "webhook", "url": {"env": DEMO_WEBHOOK_ENV}}
        env["notifications"] = {"channels": [channel]}
    data["environments"] = {environment: env}
    _adapt_build(data.setdefault("build", {}), stack, base_image, e2e_port)
    _adapt_measure(data.setdefault("measure", {}))
    _adapt_deploy(data.setdefault("deploy", {}))
    return data


def _adapt_target(env: dict[str, Any], stack: StackInfo, host_port_base: int, fault: str | None) -> None:
    """The local target on the stack's container engine, with the fault (or none) in its env."""
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


def _adapt_build(build: dict[str, Any], stack: StackInfo, base_image: str, e2e_port: int | None) -> None:
    build["registry"] = stack.registry
    build.setdefault("build_args", {})["BASE"] = base_image
    if e2e_port is not None:
        for suite in build.get("suites") or []:
            suite_env = suite.get("env") or {}
            if suite.get("environment") and "HELLO_URL" in suite_env:
                suite_env["HELLO_URL"] = f"http://127.0.0.1:{e2e_port}"


def _adapt_measure(measure: dict[str, Any]) -> None:
    # A short verification window needs a short rate window: over 1m, the load test MEASURE ran a few
    # seconds earlier (thousands of good answers) would dilute the bad release's errors.
    measure["rate_window"] = "10s"
    measure.setdefault("target_wait_seconds", 5)
    measure["baseline_window_seconds"] = min(float(measure.get("baseline_window_seconds", 60)), 60.0)
    measure["baseline_step_seconds"] = min(float(measure.get("baseline_step_seconds", 5)), 5.0)
    load = measure.setdefault("load_test", {})
    # The demo shows post-deploy verification catching a regression: loading the bad candidate's
    # preview would stop it earlier, at ANALYZE (TQ-031), so the demo sweeps the serving release.
    load.setdefault("target", "serving")
    load["levels"] = [level for level in load.get("levels", [1, 4, 16]) if level <= 16] or [1, 4, 16]
    load["duration_seconds"] = min(float(load.get("duration_seconds") or 1.5), 1.5)
    load.setdefault("workers", 1)


def _adapt_deploy(deploy: dict[str, Any]) -> None:
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


def move_e2e_port(repo: Path, example: Mapping[str, Any], port: int) -> int | None:
    """Publish the e2e suite's container on ``port`` instead of the example's fixed one.

    The example's e2e environment (a compose file) publishes a fixed host port; two runs of the
    example on one machine (the demo, the tests, a user's ``bmad run``) would fight over it. The
    copy's compose file and the suite's ``HELLO_URL`` get ``port``; returns it, or None when the
    example has no such suite.
    """
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


def write_config(path: Path, data: Mapping[str, Any]) -> None:
    header = (
        "# Written by 'bmad demo' from examples/hello/bmad.yaml: adapted to the local stack's ports and\n"
        "# to a short demo (small load test, 8 s verification window).\n"
    )
    path.write_text(header + yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")

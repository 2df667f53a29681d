"""MEASURE keeps to the release's environment: target counts and baseline queries (issue 14)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.prometheus import PrometheusClient
from bmad.engine.wiring.measure import make_plugin
from bmad.phases.measure.checks import baselines, scrape_job
from tests.helpers import free_port
from tests.phases.measure.conftest import config_yaml, make_ctx

pytestmark = pytest.mark.stack


def _wait_for_instances(stack: Any, instances: set[str]) -> None:
    prom = PrometheusClient(stack.prometheus_url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if instances <= {t.instance for t in prom.targets()}:
            return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus never discovered {instances}")


def test_another_environments_stale_targets_do_not_count(
    stack: Any, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    """Guards: a stale discovery file of another environment made scrape_job report "2/4 targets down"."""
    job = f"scoped-{uuid.uuid4().hex[:8]}"
    up = hello_service().removeprefix("http://")
    stale = f"127.0.0.1:{free_port()}"
    files = {
        stack.file_sd_dir / f"{job}-staging.json": [
            {"targets": [up], "labels": {"job": job, "environment": "staging"}}
        ],
        stack.file_sd_dir / f"{job}-old.json": [{"targets": [stale], "labels": {"job": job, "environment": "old"}}],
    }
    try:
        for path, groups in files.items():
            path.write_text(json.dumps(groups))
        _wait_for_instances(stack, {up, stale})
        ctx = make_ctx(tmp_path, config_yaml(stack, service_url=f"http://{up}", job=job))
        ports = make_plugin(ctx).ports  # type: ignore[attr-defined]
        result = scrape_job.run(ctx, ports)
        assert result.status.value == "pass", result.summary
        assert result.summary == f"job {job!r}: 1/1 targets up"
        assert result.evidence["other_environments_targets"] == 1
        captured = baselines.run(ctx, ports)
        cpu_query = captured.artifacts["baseline"]["cpu"]["query"]
        assert f'job="{job}",environment="staging"' in cpu_query
    finally:
        for path in files:
            path.unlink(missing_ok=True)

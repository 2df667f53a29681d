"""examples/gpu-inference on this CPU-only machine: its three services through the real Compose."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.containers import EngineConnection
from bmad.adapters.suite_envs import ComposeEnvironment
from bmad.ports.tests_runner import EnvironmentSpec
from tests.helpers import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gpu-inference"


@pytest.mark.engine
def test_default_profile_runs_three_services_on_cpu(
    stack: Any, engine: Any, base_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache answers through the API (a MISS, then a HIT), the exporter reports no GPU, and the
    GPU profile's service is not started; every container runs as UID 1000 with no capabilities."""
    cache_port, exporter_port = free_port(), free_port()
    monkeypatch.setenv("CACHE_PORT", str(cache_port))
    monkeypatch.setenv("EXPORTER_PORT", str(exporter_port))
    monkeypatch.setenv("BASE", base_image)
    spec = EnvironmentSpec(
        project="bmad-t-gpuinf-hhhh", cwd=EXAMPLE, compose_file=EXAMPLE / "compose.yml", ready_timeout_seconds=120
    )
    env = ComposeEnvironment(EngineConnection(stack.docker_host), spec)
    try:
        report = env.up(on_line=lambda _: None)
        assert report.ok, (report.error, report.steps)
        assert [s["up"] for s in report.steps if "up" in s] == [["inference"], ["gpu-metrics", "cache"]]
        url = f"http://127.0.0.1:{cache_port}/predict?text=good+fast+model"
        with urllib.request.urlopen(url, timeout=10) as first:
            assert first.headers["X-Cache"] == "MISS"
            assert json.loads(first.read()) == {"score": 0.667, "device": "cpu"}
        with urllib.request.urlopen(url, timeout=10) as second:
            assert second.headers["X-Cache"] == "HIT"
        with urllib.request.urlopen(f"http://127.0.0.1:{exporter_port}/metrics", timeout=10) as metrics:
            assert b"gpu_exporter_devices 0" in metrics.read()
        names = env.leftovers()
        assert names == [f"bmad-t-gpuinf-hhhh_{s}_1" for s in ("cache", "gpu-metrics", "inference")]
        for name in names:
            config = engine.containers.get(name).attrs
            assert config["Config"]["User"] == "1000:1000"
            assert config["HostConfig"]["ReadonlyRootfs"] is True
    finally:
        assert env.down().ok

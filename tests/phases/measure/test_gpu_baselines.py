"""``measure.gpu_baselines`` against the real stack's Prometheus: DCGM exporter text served over
HTTP and scraped by it, or a stand-in ``nvidia-smi`` on PATH that prints output captured from a real
NVIDIA H100 (tests/adapters/data/gpu/*-h100.*): the tool's real output, not a patched function."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bmad.core.models import CheckResult, CheckStatus
from bmad.engine.wiring.measure import make_plugin
from bmad.ports.phase import PhaseContext
from tests.adapters.test_gpu import dcgm_exporter  # noqa: F401 - the exporter fixture
from tests.phases.measure.conftest import config_yaml, make_ctx

pytestmark = pytest.mark.stack

DATA = Path(__file__).parents[2] / "adapters" / "data" / "gpu"
GPU_COMPOSE = """\
services:
  inference:
    image: inference
    deploy:
      resources:
        reservations:
          devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]
"""


def fake_nvidia_smi(folder: Path) -> Path:
    """An ``nvidia-smi`` that answers ``--query-gpu`` and ``-q -x`` with the H100 captures."""
    folder.mkdir()
    script = folder / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in -q) /bin/cat "{DATA / "nvidia-smi-q-580-h100.xml"}";; '
        f'*) /bin/cat "{DATA / "nvidia-smi-query-h100.csv"}";; esac\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return folder


def gpu_ctx(stack: Any, tmp_path: Path, *, compose: str, selector: str = 'job="dcgm"') -> PhaseContext:
    (tmp_path / "compose.yml").write_text(compose, encoding="utf-8")
    text = config_yaml(stack, service_url=None) + f"gpu: {{compose: compose.yml, dcgm_selector: '{selector}'}}\n"
    return make_ctx(tmp_path, text)


def run_check(ctx: PhaseContext) -> CheckResult:
    return next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.gpu_baselines").run(ctx)


def test_not_applicable_without_a_gpu_request(stack: Any, tmp_path: Path) -> None:
    result = run_check(gpu_ctx(stack, tmp_path, compose="services: {api: {image: api}}\n"))
    assert result.status is CheckStatus.SKIP
    assert result.summary == "not applicable: no GPU requested (compose.yml)"


def test_nvidia_smi_on_the_host_when_no_exporter(stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the host path: figures per device, the slowdown margin from ``-q -x`` (driver 580 T.Limit)."""
    monkeypatch.setenv("PATH", str(fake_nvidia_smi(tmp_path / "bin")))
    result = run_check(gpu_ctx(stack, tmp_path, compose=GPU_COMPOSE, selector='job="no-exporter"'))
    assert result.status is CheckStatus.PASS, result.observed
    figures = result.artifacts["gpu_baseline"]
    values = {name: figure["value"] for name, figure in figures.items()}
    assert values == {
        "gpu0_utilization": 0,
        "gpu0_temperature": 37,
        "gpu0_temperature_margin": 51,
        "gpu0_memory_used": 0,
        "gpu0_memory_total": 81559,
        "gpu0_power": 71.49,
    }
    assert result.summary == "1 GPU(s) from nvidia-smi --query-gpu on this host"
    assert {figure["query"] for figure in figures.values()} == {""}  # no PromQL: nvidia-smi figures
    assert "GPU 0 NVIDIA H100 80GB HBM3: 0% utilised, 37 C (51 C below slowdown)" in result.observed


def test_dcgm_through_prometheus_first(
    stack: Any,
    tmp_path: Path,
    dcgm_exporter: str,  # noqa: F811 - the imported fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi: every figure comes from DCGM
    stack.set_scrape_targets({"dcgm": [dcgm_exporter]})
    try:
        ctx = gpu_ctx(stack, tmp_path, compose=GPU_COMPOSE)
        deadline = time.monotonic() + 30
        result = run_check(ctx)
        while "from DCGM" not in result.summary:
            assert time.monotonic() < deadline, "Prometheus never scraped the exporter"
            time.sleep(0.5)
            result = run_check(ctx)
    finally:
        stack.set_scrape_targets({})
    assert result.status is CheckStatus.PASS
    assert result.summary == '2 GPU(s) from DCGM exporter through Prometheus (job="dcgm")'
    figures = result.artifacts["gpu_baseline"]
    assert {"gpu0_utilization", "gpu1_memory_total", "gpu1_power"} <= set(figures)
    assert figures["gpu0_temperature_margin"]["no_data"] is True  # DCGM alone has no slowdown threshold
    assert figures["gpu1_temperature"]["query"] == 'DCGM_FI_DEV_GPU_TEMP{job="dcgm",gpu="1"}'
    assert figures["gpu0_memory_total"]["query"] == (
        'DCGM_FI_DEV_FB_USED{job="dcgm",gpu="0"} + DCGM_FI_DEV_FB_FREE{job="dcgm",gpu="0"}'
    )


def test_warns_when_nothing_reports(stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run_check(gpu_ctx(stack, tmp_path, compose=GPU_COMPOSE, selector='job="no-exporter"'))
    assert result.status is CheckStatus.WARN
    assert "nvidia-smi" in result.observed and "program not found" in result.observed

"""``bmad diagnose`` names GPU faults when the service asks for a GPU: Xid errors of the kernel log,
uncorrected ECC errors and thermal throttling, from ``nvidia-smi -q -x`` and ``dmesg`` stand-ins on
PATH that print captured real-format output (tests/adapters/data/gpu/), and the real Prometheus."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.gpu_host import HostGpuProbe
from bmad.adapters.prometheus import PrometheusClient
from bmad.config import load_config_text
from bmad.engine.wiring.deploy_diagnose import gpu_findings

DATA = Path(__file__).parents[2] / "adapters" / "data" / "gpu"
GPU_COMPOSE = "services: {infer: {image: infer, gpus: all}}\n"


def tools_on_path(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder.mkdir()
    for name, data in (("nvidia-smi", "nvidia-smi-q-535.xml"), ("dmesg", "kern.log")):
        script = folder / name
        script.write_text(f'#!/bin/sh\n/bin/cat "{DATA / data}"\n', encoding="utf-8")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))


def config_for(tmp_path: Path, compose: str) -> Any:
    (tmp_path / "compose.yml").write_text(compose, encoding="utf-8")
    text = (
        "service: {name: infer}\nenvironments: {staging: {}}\n"
        "gpu: {compose: compose.yml, dcgm_selector: 'job=\"none\"'}\n"
    )
    config_file = tmp_path / "bmad.yaml"
    config_file.write_text(text, encoding="utf-8")
    return dataclasses.replace(load_config_text(text, source=str(config_file)), source_path=str(config_file))


def test_gpu_faults_are_findings(stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards diagnose's GPU side: before it, ``bmad diagnose`` never looked at the GPU."""
    tools_on_path(tmp_path / "bin", monkeypatch)
    prometheus = PrometheusClient(stack.prometheus_url)
    try:
        findings = gpu_findings(config_for(tmp_path, GPU_COMPOSE), "staging", prometheus, HostGpuProbe())
    finally:
        prometheus.close()
    evidence = [f.evidence[0] for f in findings]
    assert evidence == [
        "Xid 79 on PCI 0000:00:1e (GPU has fallen off the bus)",
        "Xid 48 on PCI 0000:00:1f (double-bit ECC error)",
        "GPU 0 (GPU-4d2b8a5e-6f1c-4e3a-9b7d-2c1e5f8a9b01): 2 uncorrected ECC errors",
        "GPU 0 (GPU-4d2b8a5e-6f1c-4e3a-9b7d-2c1e5f8a9b01): clocks throttled (sw_thermal_slowdown)",
    ]
    assert {f.symptom for f in findings} == {"GPU fault"}
    assert findings[2].object == "GPU 0 (GPU-4d2b8a5e-6f1c-4e3a-9b7d-2c1e5f8a9b01)"


def test_no_findings_without_a_gpu_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools_on_path(tmp_path / "bin", monkeypatch)
    config = config_for(tmp_path, "services: {api: {image: api}}\n")
    assert gpu_findings(config, "staging", PrometheusClient("http://127.0.0.1:9"), HostGpuProbe()) == []

"""GPU samples and faults parsed from captured outputs in each tool's real format.

The ``*-h100`` files were captured from a real NVIDIA H100 80GB HBM3 (driver 580.159.04, CUDA 13.0);
the others follow the documented formats of ``nvidia-smi --query-gpu ... --format=csv,noheader,nounits``,
``nvidia-smi -q -x`` (driver 470 and 535 layouts) and the DCGM exporter's ``/metrics`` text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.gpu import (
    QUERY_ARGV,
    gpu_faults,
    parse_dcgm_text,
    parse_device_list,
    parse_query_csv,
    parse_query_xml,
    parse_xid_lines,
    samples_from_prometheus,
    with_slowdown_thresholds,
)
from bmad.adapters.prometheus import PrometheusClient
from bmad.core.errors import AdapterError
from tests.helpers import serving

DATA = Path(__file__).parent / "data" / "gpu"
A10G = "GPU-4d2b8a5e-6f1c-4e3a-9b7d-2c1e5f8a9b01"
H100 = "GPU-aed03bd2-d876-fb52-3384-eba028115106"


def test_query_csv_captured_on_an_h100() -> None:
    (gpu,) = parse_query_csv((DATA / "nvidia-smi-query-h100.csv").read_text())
    assert (gpu.index, gpu.uuid, gpu.name) == (0, H100, "NVIDIA H100 80GB HBM3")
    assert (gpu.utilization_percent, gpu.temperature_celsius, gpu.memory_used_mib, gpu.memory_total_mib) == (
        0,
        37,
        0,
        81559,
    )
    assert gpu.power_watts == 71.49


def test_device_list_captured_on_an_h100() -> None:
    listed = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aed03bd2-d876-fb52-3384-eba028115106)\n"
    assert (DATA / "nvidia-smi-L-h100.txt").read_text() == listed
    (gpu,) = parse_device_list(listed + "  MIG 1g.10gb     Device  0: (UUID: MIG-5c8e2b1a)\n")
    assert (gpu.index, gpu.name, gpu.uuid) == (0, "NVIDIA H100 80GB HBM3", H100)
    assert parse_device_list("No devices were found\n") == ()


def test_query_xml_580_layout_captured_on_an_h100() -> None:
    """Guards the driver 560+ layout: no ``gpu_temp_slow_threshold`` but T.Limit readings (49 C left,
    slowdown at -2 C), and ECC as ``sram_uncorrectable_parity/secded``; the margin used to be None."""
    (gpu,) = parse_query_xml((DATA / "nvidia-smi-q-580-h100.xml").read_text())
    assert (gpu.index, gpu.uuid, gpu.name) == (0, H100, "NVIDIA H100 80GB HBM3")
    assert (gpu.temperature_celsius, gpu.slowdown_temperature_celsius, gpu.temperature_margin_celsius) == (37, 88, 51)
    assert (gpu.memory_used_mib, gpu.memory_total_mib, gpu.power_watts) == (0, 81559, 71.59)
    assert gpu.ecc_uncorrected == 0 and gpu.throttle_reasons == ("gpu_idle",)
    assert gpu_faults([gpu]) == ()


def test_query_argv_asks_for_csv_without_header_or_units() -> None:
    assert QUERY_ARGV[-1] == "--format=csv,noheader,nounits"
    assert QUERY_ARGV[1].startswith("--query-gpu=index,uuid,name,utilization.gpu,temperature.gpu,memory.used")


def test_query_csv_gives_one_sample_per_device_and_none_for_na() -> None:
    first, second = parse_query_csv((DATA / "nvidia-smi-query.csv").read_text())
    assert (first.index, first.uuid, first.name) == (0, A10G, "NVIDIA A10G")
    assert (first.utilization_percent, first.temperature_celsius) == (37.0, 41.0)
    assert (first.memory_used_mib, first.memory_total_mib, first.power_watts) == (10523.0, 23028.0, 118.52)
    assert second.power_watts is None and second.utilization_percent == 0.0


def test_query_csv_with_the_wrong_fields_is_an_error() -> None:
    with pytest.raises(AdapterError, match="line 1 has 3 fields"):
        parse_query_csv("0, GPU-x, 37\n")


def test_query_xml_535_has_thresholds_ecc_and_throttling() -> None:
    (gpu,) = parse_query_xml((DATA / "nvidia-smi-q-535.xml").read_text())
    assert (gpu.index, gpu.uuid, gpu.name) == (0, A10G, "NVIDIA A10G")
    assert (gpu.temperature_celsius, gpu.slowdown_temperature_celsius, gpu.temperature_margin_celsius) == (84, 95, 11)
    assert (gpu.memory_used_mib, gpu.memory_total_mib, gpu.power_watts) == (10523, 23028, 118.52)
    assert gpu.ecc_uncorrected == 2
    assert gpu.throttle_reasons == ("sw_thermal_slowdown",)


def test_query_xml_470_layout() -> None:
    (gpu,) = parse_query_xml((DATA / "nvidia-smi-q-470.xml").read_text())
    assert (gpu.name, gpu.utilization_percent, gpu.power_watts) == ("Tesla T4", 0, 9.61)
    assert gpu.temperature_margin_celsius == 63
    assert gpu.ecc_uncorrected == 0 and gpu.throttle_reasons == ("gpu_idle",)
    assert gpu_faults([gpu]) == ()  # an idle GPU is not a fault


def test_dcgm_text_and_faults() -> None:
    first, second = parse_dcgm_text((DATA / "dcgm-exporter.metrics").read_text())
    assert (first.utilization_percent, first.temperature_celsius, first.power_watts) == (37, 41, 118.52)
    assert (first.memory_used_mib, first.memory_total_mib) == (10523, 22526)
    assert first.last_xid == 79 and second.last_xid is None
    thresholds = {
        s.uuid: s.slowdown_temperature_celsius for s in parse_query_xml((DATA / "nvidia-smi-q-535.xml").read_text())
    }
    first = with_slowdown_thresholds([first], {k: v for k, v in thresholds.items() if v is not None})[0]
    assert first.temperature_margin_celsius == 54
    assert gpu_faults([first]) == (f"GPU 0 ({A10G}): Xid 79 (GPU has fallen off the bus)",)


def test_kernel_log_xids_and_xml_faults() -> None:
    xids = parse_xid_lines((DATA / "kern.log").read_text())
    assert [(x.pci_bus, x.code) for x in xids] == [("0000:00:1e", 79), ("0000:00:1f", 48)]
    (gpu,) = parse_query_xml((DATA / "nvidia-smi-q-535.xml").read_text())
    assert gpu_faults([gpu], xids) == (
        "Xid 79 on PCI 0000:00:1e (GPU has fallen off the bus)",
        "Xid 48 on PCI 0000:00:1f (double-bit ECC error)",
        f"GPU 0 ({A10G}): 2 uncorrected ECC errors",
        f"GPU 0 ({A10G}): clocks throttled (sw_thermal_slowdown)",
    )


@pytest.fixture
def dcgm_exporter() -> Iterator[str]:
    """The captured exporter text served over HTTP like dcgm-exporter's :9400/metrics."""
    body = (DATA / "dcgm-exporter.metrics").read_bytes()
    with serving(body, "text/plain; version=0.0.4") as url:
        yield url.removeprefix("http://")


def test_dcgm_through_the_real_prometheus(stack: Any, dcgm_exporter: str) -> None:
    """The exporter scraped by the stack's Prometheus: the same samples come back through PromQL."""
    stack.set_scrape_targets({"dcgm": [dcgm_exporter]})
    prometheus = PrometheusClient(stack.prometheus_url)
    try:
        deadline = time.monotonic() + 30
        samples: tuple[Any, ...] = ()
        while len(samples) < 2 or any(s.power_watts is None for s in samples):
            assert time.monotonic() < deadline, "Prometheus never scraped the exporter"
            time.sleep(0.5)
            samples = samples_from_prometheus(prometheus, selector='job="dcgm"')
        assert samples == parse_dcgm_text((DATA / "dcgm-exporter.metrics").read_text())
    finally:
        prometheus.close()
        stack.set_scrape_targets({})

"""GPU requests in Compose and Kubernetes definitions, and the NVIDIA Container Toolkit's version and mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.adapters.compose_file import load_compose_file
from bmad.adapters.gpu_host import advisories, toolkit_mode, toolkit_version, unfixed_advisories
from bmad.core.errors import AdapterError
from bmad.phases.gpu_scope import NOT_REQUESTED, compose_gpu_requests, gpu_requests_by_service

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gpu-inference" / "compose.yml"

# `nvidia-ctk --version` as the toolkit prints it.
CTK_1_17_3 = "NVIDIA Container Toolkit CLI version 1.17.3\ncommit: 16f37fcafcbdaf8ba3f3a5d5d0a9c5a5d7c6f5e4\n"
CTK_1_17_8 = "NVIDIA Container Toolkit CLI version 1.17.8\ncommit: f202b80a9b9d0db00d9b1d73c0128c8962c55f4d\n"


def test_the_example_requests_a_gpu_only_in_its_gpu_profile() -> None:
    compose = load_compose_file(EXAMPLE)
    default = {s.name: dict(s.definition) for s in compose.active()}
    with_gpu = {s.name: dict(s.definition) for s in compose.active(("gpu",))}
    assert sorted(default) == ["cache", "gpu-metrics", "inference"]
    assert gpu_requests_by_service(default) == {}  # the GPU checks report NOT_REQUESTED
    assert NOT_REQUESTED == "not applicable: no GPU requested"
    assert gpu_requests_by_service(with_gpu) == {"inference-gpu": ("device reservation (nvidia, count 1)",)}


def test_gpus_key_and_cdi_devices_are_requests() -> None:
    assert compose_gpu_requests({"gpus": "all"}) == ("gpus: all",)
    assert compose_gpu_requests({"devices": ["nvidia.com/gpu=0", "/dev/fuse:/dev/fuse"]}) == (
        "CDI device nvidia.com/gpu=0",
    )
    assert compose_gpu_requests({"image": "x"}) == ()


def test_toolkit_versions_against_the_advisories() -> None:
    """CVE-2025-23266 (fixed in 1.17.8) is what the guide's case study pins the toolkit against."""
    assert {a.cve for a in advisories()} >= {"CVE-2025-23266", "CVE-2024-0132"}
    assert all(a.source.startswith("https://nvidia.custhelp.com/") for a in advisories())
    old = unfixed_advisories(toolkit_version(CTK_1_17_3))
    assert [a.cve for a in old] == ["CVE-2025-23359", "CVE-2025-23266", "CVE-2025-23267"]
    assert unfixed_advisories(toolkit_version(CTK_1_17_8)) == ()
    with pytest.raises(AdapterError, match="no version"):
        toolkit_version("")


def test_toolkit_mode_from_its_config() -> None:
    assert toolkit_mode('[nvidia-container-runtime]\nmode = "cdi"\n') == "cdi"
    assert toolkit_mode('[nvidia-container-runtime]\nmode = "legacy"\n') == "legacy"
    assert toolkit_mode('disable-require = false\n[nvidia-container-cli]\nldconfig = "@/sbin/ldconfig"\n') == "auto"

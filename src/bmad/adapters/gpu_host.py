"""The GPU side of a host and of a service's definition, as the GPU checks judge it (docs/gpu.md).

* which services ask for a GPU: Compose ``deploy.resources.reservations.devices`` with
  ``capabilities: [gpu]``, ``gpus:``, CDI device names (``nvidia.com/gpu=0``) (Kubernetes
  containers: ``bmad.phases.analyze.evaluators.gpu``);
* the NVIDIA Container Toolkit: its version (``nvidia-ctk --version``) against the advisories kept
  as data in ``nvidia_toolkit_advisories.yaml``, and its mode (CDI or the legacy OCI hook) from
  ``/etc/nvidia-container-runtime/config.toml``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bmad.adapters.gpu import QUERY_ARGV, GpuSample, parse_query_csv, parse_query_xml, with_slowdown_thresholds
from bmad.core.errors import AdapterError, CommandFailed
from bmad.core.process import run
from bmad.core.yaml_limits import safe_load_limited

CDI_DEVICE = re.compile(r"^[a-z0-9.-]+/[a-z0-9._-]+=\S+$")


@dataclass(frozen=True)
class Advisory:
    cve: str
    fixed_in: tuple[int, ...]
    impact: str
    source: str


def advisories() -> tuple[Advisory, ...]:
    text = resources.files("bmad.adapters").joinpath("nvidia_toolkit_advisories.yaml").read_text(encoding="utf-8")
    return tuple(
        Advisory(str(a["cve"]), version_tuple(str(a["fixed_in"])), str(a["impact"]), str(a["source"]))
        for a in yaml.safe_load(text)
    )


def version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    if match is None:
        raise AdapterError("nvidia-ctk", "reading a version", f"no version in {text.strip()[:80]!r}")
    return tuple(int(part) for part in match.groups())


def toolkit_version(nvidia_ctk_output: str) -> tuple[int, ...]:
    """``NVIDIA Container Toolkit CLI version 1.17.8`` (first line of ``nvidia-ctk --version``)."""
    return version_tuple(nvidia_ctk_output.splitlines()[0] if nvidia_ctk_output.strip() else "")


def unfixed_advisories(version: tuple[int, ...]) -> tuple[Advisory, ...]:
    """The advisories a toolkit of this version is still exposed to."""
    return tuple(a for a in advisories() if version < a.fixed_in)


def toolkit_mode(config_toml: str) -> str:
    """``cdi``, ``legacy`` or ``auto``: ``[nvidia-container-runtime] mode`` (absent: ``auto``)."""
    runtime = tomllib.loads(config_toml).get("nvidia-container-runtime", {})
    return str(runtime.get("mode", "auto"))


def compose_gpu_requests(service: Mapping[str, Any]) -> tuple[str, ...]:
    """How one Compose service asks for a GPU (empty: it does not)."""
    found: list[str] = []
    reservations = ((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    for device in reservations.get("devices") or []:
        if "gpu" in (device.get("capabilities") or []) or device.get("driver") == "nvidia":
            found.append(
                f"device reservation ({device.get('driver', 'any driver')}, count {device.get('count', 'all')})"
            )
    if service.get("gpus"):
        found.append(f"gpus: {service['gpus']}")
    for device in service.get("devices") or []:
        name = device if isinstance(device, str) else str(device.get("source", ""))
        if CDI_DEVICE.match(name) and "gpu" in name:
            found.append(f"CDI device {name}")
    return tuple(found)


NOT_REQUESTED = "not applicable: no GPU requested"


def gpu_requests_by_service(services: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """The services (name -> definition) that ask for a GPU, with how; empty: the GPU checks do not apply."""
    found = {name: compose_gpu_requests(definition) for name, definition in services.items()}
    return {name: how for name, how in found.items() if how}


def gpu_requests_in_compose_file(path: Path) -> dict[str, tuple[str, ...]]:
    """The services of a compose file that ask for a GPU (``ConfigError`` when it is not YAML)."""
    document = safe_load_limited(path.read_text(encoding="utf-8"), source=str(path))
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict):
        return {}
    return gpu_requests_by_service({str(k): v for k, v in services.items() if isinstance(v, dict)})


NVIDIA_SMI_HINT = "install the NVIDIA driver's nvidia-smi on this host, or scrape a DCGM exporter (gpu.dcgm_selector)"


def host_gpu_samples(*, timeout: float = 30.0) -> tuple[GpuSample, ...]:
    """This host's GPUs from ``nvidia-smi --query-gpu`` plus the slowdown thresholds of ``-q -x``
    (``AdapterError`` when nvidia-smi is missing or fails)."""
    listed = run(QUERY_ARGV, timeout=timeout, check=True, missing_hint=NVIDIA_SMI_HINT)
    return with_slowdown_thresholds(parse_query_csv(listed.stdout), host_slowdown_thresholds(timeout=timeout))


def host_slowdown_thresholds(*, timeout: float = 30.0) -> dict[str, float]:
    """Slowdown temperature by GPU UUID from ``nvidia-smi -q -x`` (empty where nvidia-smi is missing)."""
    try:
        detail = run(("nvidia-smi", "-q", "-x"), timeout=timeout, check=True, missing_hint=NVIDIA_SMI_HINT)
    except (AdapterError, CommandFailed):
        return {}
    return {
        s.uuid: s.slowdown_temperature_celsius
        for s in parse_query_xml(detail.stdout)
        if s.slowdown_temperature_celsius is not None
    }

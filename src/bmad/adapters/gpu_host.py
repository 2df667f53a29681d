"""The GPU side of a host, as the GPU checks read it (docs/gpu.md; :class:`HostGpuProbe`).

* its GPUs: ``nvidia-smi --query-gpu`` plus the slowdown thresholds of ``nvidia-smi -q -x``, or the
  DCGM exporter's series through Prometheus (which services ask for a GPU:
  :mod:`bmad.phases.gpu_scope`);
* the NVIDIA Container Toolkit: its version (``nvidia-ctk --version``) against the advisories kept
  as data in ``nvidia_toolkit_advisories.yaml``, and its mode (CDI or the legacy OCI hook) from
  ``/etc/nvidia-container-runtime/config.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bmad.adapters.gpu import (
    QUERY_ARGV,
    gpu_faults,
    parse_device_list,
    parse_query_csv,
    parse_query_xml,
    parse_xid_lines,
    samples_from_prometheus,
    with_slowdown_thresholds,
)
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, CommandFailed
from bmad.core.process import run
from bmad.core.spans import SpanKind, waiting
from bmad.ports.gpu import GpuSample, ToolkitFacts
from bmad.ports.metrics import MetricsQuery


@datatype(frozen=True)
class Advisory:
    cve: str
    fixed_in: tuple[int, ...]
    impact: str
    source: str


def advisories() -> tuple[Advisory, ...]:
    from importlib import resources  # ~2 ms: only a host with the NVIDIA Container Toolkit

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
    import tomllib  # here: most hosts have no toolkit config to read

    runtime = tomllib.loads(config_toml).get("nvidia-container-runtime", {})
    return str(runtime.get("mode", "auto"))


def toolkit_cli_version(*, timeout: float = 30.0) -> tuple[int, ...] | None:
    """The host's NVIDIA Container Toolkit version (``nvidia-ctk --version``); None where it is not installed."""
    try:
        answer = run(("nvidia-ctk", "--version"), timeout=timeout, check=True)
    except AdapterError:
        return None
    return toolkit_version(answer.stdout)


NVIDIA_SMI_HINT = "install the NVIDIA driver's nvidia-smi on this host, or scrape a DCGM exporter (gpu.dcgm_selector)"


def host_gpu_samples(*, timeout: float = 30.0) -> tuple[GpuSample, ...]:
    """This host's GPUs from ``nvidia-smi --query-gpu`` plus the slowdown thresholds of ``-q -x``
    (``AdapterError`` when nvidia-smi is missing or fails)."""
    listed = run(QUERY_ARGV, timeout=timeout, check=True, missing_hint=NVIDIA_SMI_HINT)
    return with_slowdown_thresholds(parse_query_csv(listed.stdout), host_slowdown_thresholds(timeout=timeout))


def host_slowdown_thresholds(*, timeout: float = 30.0) -> dict[str, float]:
    """Slowdown temperature by GPU UUID from ``nvidia-smi -q -x`` (empty where nvidia-smi is missing)."""
    return {
        s.uuid: s.slowdown_temperature_celsius
        for s in detailed_host_samples(timeout=timeout)
        if s.slowdown_temperature_celsius is not None
    }


def detailed_host_samples(*, timeout: float = 30.0) -> tuple[GpuSample, ...]:
    """``nvidia-smi -q -x`` (thresholds, ECC counters, throttle reasons); none where nvidia-smi is missing."""
    try:
        detail = run(("nvidia-smi", "-q", "-x"), timeout=timeout, check=True, missing_hint=NVIDIA_SMI_HINT)
    except (AdapterError, CommandFailed):
        return ()
    return parse_query_xml(detail.stdout)


class HostGpuProbe:
    """:class:`~bmad.ports.gpu.GpuProbe` on this host: ``nvidia-smi``, ``nvidia-ctk`` and the DCGM series."""

    def __init__(self, *, timeout: float = 30.0, docker_host: str | None = None) -> None:
        self.timeout = timeout
        self.docker_host = docker_host  # the engine whose containers ``container_devices`` looks into

    def compose_service(self, container: str) -> str | None:
        from docker.errors import DockerException

        from bmad.adapters.engine_client import connect_engine
        from bmad.adapters.targets.local.compose_health import COMPOSE_SERVICE

        client = connect_engine(self.docker_host, timeout=self.timeout)
        try:
            labels = client.containers.get(container).labels or {}
        except DockerException as exc:
            raise AdapterError("container-engine", f"reading {container}'s labels", str(exc), temporary=True) from None
        finally:
            client.close()
        return labels.get(COMPOSE_SERVICE)

    def container_devices(self, container: str) -> tuple[str, ...]:
        from docker.errors import DockerException

        from bmad.adapters.engine_client import connect_engine

        client = connect_engine(self.docker_host, timeout=self.timeout)
        try:
            found = client.containers.get(container)
            try:
                with waiting(SpanKind.CONTAINER_ENGINE, "nvidia-smi -L in the container"):  # streams until it ends
                    exit_code, output = found.exec_run(["nvidia-smi", "-L"])
            except DockerException:
                exit_code, output = 127, b""
            listed = parse_device_list(output.decode(errors="replace")) if exit_code == 0 else ()
            if listed:
                return tuple(f"GPU {g.index}: {g.name} ({g.uuid})" for g in listed)
            return engine_gpu_devices(found.attrs.get("HostConfig") or {})
        except DockerException as exc:
            raise AdapterError("container-engine", f"looking into {container}", str(exc), temporary=True) from None
        finally:
            client.close()

    def dcgm_samples(self, prometheus: MetricsQuery, selector: str) -> tuple[GpuSample, ...]:
        samples = samples_from_prometheus(prometheus, selector=selector)
        return with_slowdown_thresholds(samples, host_slowdown_thresholds(timeout=self.timeout)) if samples else ()

    def host_samples(self) -> tuple[GpuSample, ...]:
        return host_gpu_samples(timeout=self.timeout)

    def faults(self, prometheus: MetricsQuery | None, selector: str) -> tuple[str, ...]:
        samples = samples_from_prometheus(prometheus, selector=selector) if prometheus is not None else ()
        detailed = detailed_host_samples(timeout=self.timeout)
        return gpu_faults((*samples, *detailed), parse_xid_lines(self._kernel_log()))

    def _kernel_log(self) -> str:
        """``dmesg`` where this user may read it (empty otherwise)."""
        try:
            return run(("dmesg",), timeout=self.timeout, check=True).stdout
        except (AdapterError, CommandFailed):
            return ""

    def toolkit(self, config_file: str) -> ToolkitFacts | None:
        version = toolkit_cli_version(timeout=self.timeout)
        if version is None:
            return None
        unfixed = tuple(f"{a.cve} (fixed in {_dotted(a.fixed_in)}; {a.source})" for a in unfixed_advisories(version))
        path = Path(config_file)
        if not path.is_file():
            return ToolkitFacts(version, unfixed, "auto", f"{path} not found (mode auto)")
        mode = toolkit_mode(path.read_text(encoding="utf-8"))
        return ToolkitFacts(version, unfixed, mode, f"{path}: mode = {mode}")


_NVIDIA_NODE = re.compile(r"^/dev/nvidia\d+$")
_CDI_NAME = re.compile(r"^[a-z0-9.-]+/gpu=\S+$")


def engine_gpu_devices(host_config: Mapping[str, Any]) -> tuple[str, ...]:
    """The GPUs an engine's ``HostConfig`` gives a container: ``/dev/nvidiaN`` or CDI device names
    under ``Devices``, NVIDIA ``DeviceRequests`` (``--gpus``)."""
    found = []
    for device in host_config.get("Devices") or []:
        path = str(device.get("PathOnHost", ""))
        if _NVIDIA_NODE.match(path) or _CDI_NAME.match(path):
            found.append(f"device {path}")
    for request in host_config.get("DeviceRequests") or []:
        capabilities = [c for group in request.get("Capabilities") or [] for c in group]
        if request.get("Driver") == "nvidia" or "gpu" in capabilities:
            found.append(f"device request ({request.get('Driver') or 'any driver'}, count {request.get('Count')})")
    return tuple(found)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)

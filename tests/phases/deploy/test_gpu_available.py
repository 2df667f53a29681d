"""``deploy.gpu_available``'s eyes: :meth:`HostGpuProbe.container_devices` on real Podman containers.
One sees an ``nvidia-smi`` (mounted into it) that prints ``nvidia-smi -L`` as captured on a real H100;
one has none and no NVIDIA device; the engine's device list is read from a real ``HostConfig``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.gpu_host import HostGpuProbe, engine_gpu_devices
from bmad.adapters.targets.local import LocalTarget
from bmad.adapters.targets.probe import RequestsProbe
from bmad.config.deploy import Criterion, DeployConfig, LocalTargetConfig
from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.deploy import DeployPhase
from bmad.phases.deploy.checks.gpu_available import release_containers
from bmad.phases.deploy.checks.verify import baseline_figures
from bmad.phases.deploy.verify import bounds_for, query_for
from bmad.ports.artifacts import BaselineFigure, MeasureArtifacts
from bmad.ports.target import DeploySpec
from tests.phase_harness import context_from_yaml

pytestmark = pytest.mark.stack

DATA = Path(__file__).parents[2] / "adapters" / "data" / "gpu"


@pytest.fixture
def start_container(engine: Any, base_image: str) -> Iterator[Any]:
    started: list[Any] = []

    def start(**kwargs: Any) -> Any:
        name = f"gpu18-{uuid.uuid4().hex[:8]}"
        container = engine.containers.run(base_image, ["sleep", "300"], name=name, detach=True, **kwargs)
        started.append(container)
        return container

    yield start
    for container in started:
        container.remove(force=True)


def test_a_container_that_sees_its_gpu(stack: Any, start_container: Any, tmp_path: Path) -> None:
    """Guards "GPU availability validated": ``nvidia-smi -L`` inside the container names the device."""
    listed = (DATA / "nvidia-smi-L-h100.txt").read_text(encoding="utf-8").strip()
    tool = tmp_path / "bin" / "nvidia-smi"
    tool.parent.mkdir()
    tool.write_text(f"#!/bin/sh\necho '{listed}'\n", encoding="utf-8")
    tool.chmod(0o755)
    container = start_container(
        volumes={str(tool.parent): {"bind": "/opt/nvidia/bin", "mode": "ro"}},
        environment={"PATH": "/opt/nvidia/bin:/usr/local/bin:/usr/bin:/bin"},
    )
    devices = HostGpuProbe(docker_host=stack.docker_host).container_devices(container.name)
    assert devices == ("GPU 0: NVIDIA H100 80GB HBM3 (GPU-aed03bd2-d876-fb52-3384-eba028115106)",)


def test_a_container_without_a_gpu(stack: Any, start_container: Any) -> None:
    container = start_container()
    assert HostGpuProbe(docker_host=stack.docker_host).container_devices(container.name) == ()


def test_the_compose_service_of_a_container(stack: Any, start_container: Any) -> None:
    """Compose mode checks only its GPU services' containers: the probe reads the service label."""
    probe = HostGpuProbe(docker_host=stack.docker_host)
    assert probe.compose_service(start_container(labels={"bmad.compose.service": "inference"}).name) == "inference"
    assert probe.compose_service(start_container().name) is None


def test_an_unknown_container_is_an_adapter_error(stack: Any) -> None:
    with pytest.raises(AdapterError):
        HostGpuProbe(docker_host=stack.docker_host).container_devices("gpu18-no-such-container")


def test_engine_device_lists() -> None:
    host_config = {
        "Devices": [
            {"PathOnHost": "/dev/nvidia0", "PathInContainer": "/dev/nvidia0"},
            {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse"},
            {"PathOnHost": "nvidia.com/gpu=all", "PathInContainer": ""},
        ],
        "DeviceRequests": [{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}],
    }
    assert engine_gpu_devices(host_config) == (
        "device /dev/nvidia0",
        "device nvidia.com/gpu=all",
        "device request (nvidia, count -1)",
    )
    assert engine_gpu_devices({"Devices": None}) == ()


def test_release_containers_are_the_running_ones_of_the_release() -> None:
    status = {
        "generations": [
            {"release": "new", "replicas": [{"name": "a", "status": "running"}, {"name": "b", "status": "exited"}]},
            {"release": "old", "replicas": [{"name": "c", "status": "running"}]},
        ]
    }
    assert release_containers(status, "new") == ["a"]


def test_verification_criteria_name_the_gpu_baseline() -> None:
    """Guards the hand-off: MEASURE's ``gpu_baseline`` (as a record stores it) is a baseline DEPLOY's
    verification criteria can name, with the DCGM PromQL MEASURE stored."""
    stored = MeasureArtifacts(
        baseline={"cpu": BaselineFigure(query="sum(rate(x[1m]))", value=0.2, points=1)},
        gpu_baseline={
            "gpu0_temperature": BaselineFigure(
                query='DCGM_FI_DEV_GPU_TEMP{job="dcgm",gpu="0"}', unit="celsius", value=61, points=1
            )
        },
    ).to_artifacts()
    figures = baseline_figures(MeasureArtifacts.from_artifacts(stored))
    assert set(figures) == {"cpu", "gpu0_temperature"}
    criterion = Criterion(name="gpu_temp", baseline="gpu0_temperature", max_increase=10)
    assert query_for(criterion, figures) == 'DCGM_FI_DEV_GPU_TEMP{job="dcgm",gpu="0"}'
    bounds = bounds_for(criterion, figures)
    assert (bounds.upper, bounds.problem) == (71, "")


def test_a_not_applicable_gpu_check_keeps_the_rollout_successful(tmp_path: Path) -> None:
    """Guards rollout_successful: a skipped ``deploy.gpu_available`` (no GPU requested, e.g. the hello
    example whose suite compose file asks for none) must not turn a good rollout into a failed one."""
    phase = DeployPhase(
        target=LocalTarget(LocalTargetConfig(), probe=RequestsProbe(), health_path="/health"),
        spec=DeploySpec("hello", "dev", "1" * 40, "127.0.0.1:5000/hello", "sha256:" + "0" * 64),
        config=DeployConfig(),
        probe=RequestsProbe(),
    )
    ctx = context_from_yaml(
        tmp_path, "service: {name: hello}\nenvironments: {dev: {}}\n", environment="dev", version="1" * 40
    )
    ids = ("deploy.apply", "deploy.rollout", "deploy.gpu_available", "deploy.smoke", "deploy.cutover", "deploy.verify")
    results = [
        CheckResult(
            id=i, title=i, status=CheckStatus.SKIP if i == "deploy.gpu_available" else CheckStatus.PASS, summary=""
        )
        for i in ids
    ]
    assert phase.metrics(ctx, results)["rollout_successful"] is True

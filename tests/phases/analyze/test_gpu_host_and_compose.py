"""``analyze.gpu_host`` (the host's NVIDIA Container Toolkit) and the catalog's Compose entries
(SC-065..SC-069: Compose GPU services, read from the environment's real compose file). The host
side runs the real probe against an ``nvidia-ctk`` on PATH that prints the
toolkit's real ``--version`` output, and a real ``config.toml``; not a patched function."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.adapters.gpu_host import HostGpuProbe
from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.analyze import AnalyzePhase
from bmad.phases.analyze.catalog import catalog
from bmad.phases.analyze.checks import gpu_host
from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.manifests import Bundle
from bmad.phases.analyze.readiness import evaluate_entry
from bmad.phases.analyze.readiness_data import ItemResult, ItemStatus, Scope
from bmad.phases.analyze.suppressions import SuppressionSet
from bmad.phases.gpu_compose_services import compose_gpu_services
from bmad.phases.gpu_scope import gpu_checks_listed, gpu_scope
from bmad.ports.phase import PhaseContext
from tests.phase_harness import context_from_yaml

RESERVED = "deploy: {resources: {reservations: {devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]}}}"
HARDENED = f"""\
services:
  inference:
    image: inference
    user: "1000"
    cap_drop: [ALL]
    cap_add: [NET_BIND_SERVICE]
    {RESERVED}
  cache:
    image: cache
"""


def ctx_for(tmp_path: Path, compose: str, gpu: str = "") -> PhaseContext:
    (tmp_path / "compose.yml").write_text(compose, encoding="utf-8")
    text = f"service: {{name: infer}}\nenvironments: {{staging: {{}}}}\ngpu: {{compose: compose.yml{gpu}}}\n"
    return context_from_yaml(tmp_path, text, environment="staging", version="1" * 40)


def fake_nvidia_ctk(tmp_path: Path, version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "nvidia-ctk"
    script.write_text(
        f"#!/bin/sh\necho 'NVIDIA Container Toolkit CLI version {version}'\necho 'commit: f202b80a9b9d0db00d9b1d73'\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))


def host_check(ctx: PhaseContext) -> CheckResult:
    return gpu_host.run(ctx, AnalyzePhase(schemas=None, gpu=HostGpuProbe()))


COMPOSE_ENTRIES = [entry for entry in catalog() if entry.scope is Scope.COMPOSE]


def compose_items(ctx: PhaseContext) -> dict[str, ItemResult]:
    """The catalog's Compose entries over the environment's compose file, by id."""
    eval_ctx = EvalContext(
        bundle=Bundle(),
        config=ctx.config,
        environment_name=ctx.environment_name,
        compose=compose_gpu_services(ctx.config, ctx.environment_name),
    )
    suppressions = SuppressionSet(today=eval_ctx.today)
    return {entry.id: evaluate_entry(entry, eval_ctx, suppressions) for entry in COMPOSE_ENTRIES}


def statuses(items: dict[str, ItemResult]) -> set[ItemStatus]:
    return {item.status for item in items.values()}


def test_not_applicable_without_a_gpu_request(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path, "services: {api: {image: api}}\n")
    assert host_check(ctx).summary == "not applicable: no GPU requested (compose.yml)"
    items = compose_items(ctx)
    assert statuses(items) == {ItemStatus.NOT_APPLICABLE}
    assert {item.reason for item in items.values()} == {"not applicable: no GPU requested (compose.yml)"}


def test_host_without_the_toolkit_is_not_applicable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = host_check(ctx_for(tmp_path, HARDENED))
    assert result.status is CheckStatus.SKIP
    assert "nvidia-ctk is not installed" in result.summary


def test_old_toolkit_in_legacy_mode_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the advisories data and the mode: 1.17.3 misses the CVE-2025-23266 fix (1.17.8)."""
    fake_nvidia_ctk(tmp_path, "1.17.3", monkeypatch)
    config = tmp_path / "config.toml"
    config.write_text('[nvidia-container-runtime]\nmode = "legacy"\n', encoding="utf-8")
    result = host_check(ctx_for(tmp_path, HARDENED, f", toolkit_config: {config}"))
    assert result.status is CheckStatus.FAIL
    assert "CVE-2025-23266 (fixed in 1.17.8" in result.summary
    assert "legacy OCI hook mode" in result.summary


def test_pinned_patched_toolkit_in_cdi_mode_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_ctk(tmp_path, "1.17.8", monkeypatch)
    config = tmp_path / "config.toml"
    config.write_text('[nvidia-container-runtime]\nmode = "cdi"\n', encoding="utf-8")
    ctx = ctx_for(tmp_path, HARDENED, f", toolkit_config: {config}, toolkit_version: 1.17.8")
    result = host_check(ctx)
    assert result.status is CheckStatus.PASS, result.summary
    assert result.summary == "NVIDIA Container Toolkit 1.17.8, mode cdi"


def test_unpinned_version_and_missing_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_ctk(tmp_path, "1.18.0", monkeypatch)
    ctx = ctx_for(tmp_path, HARDENED, f", toolkit_config: {tmp_path / 'none.toml'}, toolkit_version: 1.17.8")
    result = host_check(ctx)
    assert result.status is CheckStatus.FAIL
    assert "version 1.18.0 is not the pinned 1.17.8" in result.summary
    assert "not found (mode auto)" in result.observed


def test_hardened_compose_gpu_service_passes(tmp_path: Path) -> None:
    items = compose_items(ctx_for(tmp_path, HARDENED))
    assert [entry.id for entry in COMPOSE_ENTRIES] == ["SC-065", "SC-066", "SC-067", "SC-068", "SC-069"]
    assert statuses(items) == {ItemStatus.PASS}, {i: item.reason for i, item in items.items()}
    assert {item.evaluated for item in items.values()} == {1}


def test_root_privileged_gpu_service_without_reservation_fails(tmp_path: Path) -> None:
    compose = """\
services:
  trainer:
    image: trainer
    privileged: true
    pid: host
    ipc: host
    devices: [nvidia.com/gpu=0]
  sidecar:
    image: sidecar
    environment: [NVIDIA_VISIBLE_DEVICES=all]
    user: "1000"
    cap_drop: [ALL]
"""
    items = compose_items(ctx_for(tmp_path, compose))
    found = {i: [(f.location.name, f.message) for f in item.failures] for i, item in items.items()}
    assert found == {
        "SC-065": [
            ("sidecar", "sidecar: uses a GPU (sets NVIDIA_VISIBLE_DEVICES) without a device reservation or CDI device")
        ],
        "SC-066": [("trainer", "trainer: no user (runs as the image's user, often root)")],
        "SC-067": [("trainer", "trainer: cap_drop lacks ALL (capabilities beyond its cap_add stay)")],
        "SC-068": [("trainer", "trainer: privileged: true")],
        "SC-069": [("trainer", "trainer: pid: host, ipc: host")],
    }


def test_compose_findings_point_at_the_services_file_and_line(tmp_path: Path) -> None:
    """Guards the Compose scope's locations: a finding names the compose file and the line of the
    service's key (the retired ``analyze.gpu_compose`` check named no line)."""
    items = compose_items(ctx_for(tmp_path, HARDENED.replace('user: "1000"', 'user: "0"')))
    (finding,) = items["SC-066"].failures
    assert (finding.location.file, finding.location.line, finding.location.name) == ("compose.yml", 2, "inference")
    assert finding.message == "inference: runs as root (user: 0)"


def test_a_compose_file_that_is_not_yaml_is_skipped_with_the_reason(tmp_path: Path) -> None:
    """Guards the read error: ANALYZE's catalog goes on, the Compose entries are skipped (never passed)."""
    items = compose_items(ctx_for(tmp_path, "services: [unclosed\n"))
    assert statuses(items) == {ItemStatus.SKIPPED}
    assert all(item.reason.startswith("compose.yml could not be read") for item in items.values())


def test_listed_only_where_a_gpu_request_can_be_read(tmp_path: Path) -> None:
    """Without a compose file or ``gpu.requested`` ANALYZE lists no GPU checks (a ready release stays all-pass)."""
    plain = context_from_yaml(
        tmp_path / "plain",
        "service: {name: api}\nenvironments: {staging: {}}\n",
        environment="staging",
        version="1" * 40,
    )
    with_compose = ctx_for(tmp_path, "services: {api: {image: api}}\n")
    assert gpu_host.CHECK.id not in {c.id for c in AnalyzePhase(schemas=None).checks(plain)}
    assert gpu_host.CHECK.id in {c.id for c in AnalyzePhase(schemas=None).checks(with_compose)}
    assert "analyze.gpu_compose" not in {c.id for c in AnalyzePhase(schemas=None).checks(with_compose)}


EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "gpu-inference"


@pytest.mark.parametrize(("profiles", "status"), [("[]", ItemStatus.NOT_APPLICABLE), ("[gpu]", ItemStatus.PASS)])
def test_the_example_requests_a_gpu_only_in_its_gpu_profile(tmp_path: Path, profiles: str, status: ItemStatus) -> None:
    """Guards profiles: the example's default profile has no GPU service, ``--profile gpu`` adds one."""
    compose = (EXAMPLE / "compose.yml").read_text(encoding="utf-8")
    items = compose_items(ctx_for(tmp_path, compose, f", profiles: {profiles}"))
    assert statuses(items) == {status}, {i: item.reason for i, item in items.items()}
    if status is ItemStatus.NOT_APPLICABLE:
        assert {item.reason for item in items.values()} == {"not applicable: no GPU requested (compose.yml)"}


@pytest.mark.parametrize(("profiles", "requested"), [("[]", False), ("[gpu]", True)])
def test_the_local_targets_compose_mode_file_is_read(tmp_path: Path, profiles: str, requested: bool) -> None:
    """Guards the environment's Compose mode (``target.local.compose``) as the source of GPU requests."""
    (tmp_path / "compose.yml").write_text((EXAMPLE / "compose.yml").read_text(encoding="utf-8"), encoding="utf-8")
    target = f"{{kind: local, local: {{compose: {{file: compose.yml, service: inference, profiles: {profiles}}}}}}}"
    text = f"service: {{name: infer}}\nenvironments: {{staging: {{target: {target}}}}}\n"
    ctx = context_from_yaml(tmp_path, text, environment="staging", version="1" * 40)
    scope = gpu_scope(ctx.config, "staging")
    assert scope.requested is requested
    assert scope.source == "compose.yml"
    assert gpu_checks_listed(ctx.config, "staging")

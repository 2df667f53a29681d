"""``analyze.gpu_host``: the host's NVIDIA Container Toolkit is the pinned version (``gpu.toolkit_version``)
or at least the release that fixes every advisory kept as data (CVE-2025-23266: 1.17.8), and runs
in CDI mode rather than the legacy OCI hook. Not applicable without a GPU request or without
``nvidia-ctk`` on the host (docs/gpu.md).
"""

from __future__ import annotations

import re

from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.phases.gpu_scope import gpu_scope
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("analyze.gpu_host", "NVIDIA Container Toolkit pinned, patched and in CDI mode")


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    scope = gpu_scope(ctx.config, ctx.environment_name)
    if not scope.requested:
        return CHECK.skipped(scope.describe())
    conf = ctx.config.gpu
    toolkit = phase.ports.gpu.toolkit(conf.toolkit_config) if phase.ports.gpu is not None else None
    if toolkit is None:
        return CHECK.skipped("not applicable: nvidia-ctk is not installed on this host (no NVIDIA Container Toolkit)")
    version, mode, mode_note = toolkit.version, toolkit.mode, toolkit.mode_note
    shown = _dotted(version)
    problems = [f"exposed to {advisory}" for advisory in toolkit.unfixed]
    if conf.toolkit_version and version != _numbers(conf.toolkit_version):
        problems.append(f"version {shown} is not the pinned {conf.toolkit_version}")
    if mode == "legacy":
        problems.append('legacy OCI hook mode (set mode = "cdi")')
    status = CheckStatus.FAIL if problems else CheckStatus.WARN if mode != "cdi" else CheckStatus.PASS
    return CHECK.result(
        status,
        f"NVIDIA Container Toolkit {shown}, mode {mode}" + (f": {'; '.join(problems)}" if problems else ""),
        expected=f"toolkit {conf.toolkit_version or 'at or past every fixing release'}, mode cdi",
        observed=f"nvidia-ctk {shown}; {mode_note}",
        fix="upgrade and pin the NVIDIA Container Toolkit (apt-mark hold / dnf versionlock), "
        'set [nvidia-container-runtime] mode = "cdi" and generate the CDI spec (nvidia-ctk cdi generate)',
        evidence={"version": shown, "mode": mode, "requested_by": scope.describe(), "problems": problems},
    )


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)

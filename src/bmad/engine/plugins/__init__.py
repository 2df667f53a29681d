"""Wiring: one module per phase with ``make_plugin(ctx) -> PhasePlugin``.

This is the only place that builds adapters and hands them to a phase.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from bmad.core.models import CheckResult, CheckStatus, PhaseName
from bmad.ports.phase import BasePhase, Check, PhaseContext, PhasePlugin


class NotImplementedPhase(BasePhase):
    """Stands in for a phase whose implementation has not landed: it always fails, never passes."""

    def __init__(self, name: PhaseName) -> None:
        self.name = name

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        title = f"{self.name.label} phase implementation"

        def not_implemented(_: PhaseContext) -> CheckResult:
            return CheckResult(
                id=f"{self.name.value}.implemented",
                title=title,
                status=CheckStatus.FAIL,
                summary=f"{self.name.label} is not implemented yet",
                expected="a phase implementation",
                observed="none installed",
                fix="upgrade bmad to a version that implements this phase",
            )

        return [Check(id=f"{self.name.value}.implemented", title=title, run=not_implemented)]


def plugin_for(phase: PhaseName, ctx: PhaseContext) -> PhasePlugin:
    try:
        module = importlib.import_module(f"bmad.engine.plugins.{phase.value}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bmad.engine.plugins.{phase.value}":
            return NotImplementedPhase(phase)
        raise
    plugin: PhasePlugin = module.make_plugin(ctx)
    return plugin

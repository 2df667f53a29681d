"""Wiring: one module per phase with ``make_plugin(ctx) -> PhasePlugin``.

This is the only place that builds adapters and hands them to a phase.
"""

from __future__ import annotations

import importlib

from bmad.core.models import PhaseName
from bmad.ports.phase import PhaseContext, PhasePlugin


def plugin_for(phase: PhaseName, ctx: PhaseContext) -> PhasePlugin:
    module = importlib.import_module(f"bmad.engine.wiring.{phase.value}")
    plugin: PhasePlugin = module.make_plugin(ctx)
    return plugin

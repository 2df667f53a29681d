"""Wiring for the MEASURE phase (not implemented yet: the phase fails, never passes)."""

from __future__ import annotations

from bmad.core.models import PhaseName
from bmad.engine.plugins import NotImplementedPhase
from bmad.ports.phase import PhaseContext, PhasePlugin


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    return NotImplementedPhase(PhaseName.MEASURE)

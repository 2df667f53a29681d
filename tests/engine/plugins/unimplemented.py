"""A phase wired to bmad's stand-in for a phase that has not landed (it always fails)."""

from __future__ import annotations

from bmad.core.models import PhaseName
from bmad.engine.plugins import NotImplementedPhase
from bmad.ports.phase import PhaseContext, PhasePlugin


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    return NotImplementedPhase(PhaseName.BUILD)

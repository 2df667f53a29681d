"""Scripted MEASURE phase for the engine tests (see tests/engine/plugins/__init__.py)."""

from __future__ import annotations

from bmad.core.models import PhaseName
from bmad.ports.phase import PhaseContext, PhasePlugin
from tests.engine.plugins import make


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    return make(PhaseName.MEASURE, ctx)

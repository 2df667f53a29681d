from bmad.core.models import PhaseName
from bmad.ports.phase import PhaseContext, PhasePlugin
from noop import NoopPhase


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    return NoopPhase(PhaseName.BUILD)

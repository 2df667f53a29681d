"""The BUILD phase: validate the code, build the production image, gate it, push it, tag the release."""

from bmad.phases.build.phase import BuildPhase, BuildPorts

__all__ = ["BuildPhase", "BuildPorts"]

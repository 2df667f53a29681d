"""The DEPLOY phase: apply to a target, roll out, smoke-test, cut over, verify, roll back on failure."""

from bmad.phases.deploy.phase import DeployPhase
from bmad.phases.deploy.rollback import perform_rollback

__all__ = ["DeployPhase", "perform_rollback"]

"""The DEPLOY phase: apply to a target, roll out, smoke-test, cut over, verify, roll back on failure."""

from bmad.phases.deploy.phase import DeployPhase, perform_rollback

__all__ = ["DeployPhase", "perform_rollback"]

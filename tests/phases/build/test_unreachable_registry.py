"""An unreachable registry ends BUILD with exit 3, like every unreachable system (issue 19)."""

from __future__ import annotations

from typing import Any

from bmad.core.errors import ExitCode
from bmad.core.models import PhaseName, PhaseResult, PhaseStatus
from bmad.engine.outcomes import PhaseOutcome
from bmad.engine.runner import _exit_code
from tests.helpers import free_port
from tests.phases.build.conftest import ServiceRepo, run_build


def test_a_registry_on_a_closed_port_is_exit_3(service_repo: Any) -> None:
    """Guards: the push check turned an unreachable registry into a plain failure (exit 1)."""
    repo: ServiceRepo = service_repo()
    registry = f"127.0.0.1:{free_port()}"
    run = run_build(repo, {"registry": registry, "push": {"retries": 0}, "vulnerabilities": {"enabled": False}})
    push = run.result("build.push")
    assert push.status.value == "fail" and registry in push.summary
    assert push.evidence["error_type"] == "Unreachable"
    result = PhaseResult(phase=PhaseName.BUILD, status=PhaseStatus.FAILED, checks=run.results)
    outcome = PhaseOutcome(result=result, attempt=1, warnings_fail=False)
    assert _exit_code(outcome) is ExitCode.UNREACHABLE

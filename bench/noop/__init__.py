"""Phases of N checks that do nothing (bench/engine.py selects them with BMAD_PLUGIN_<PHASE>=noop.<phase>)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from bmad.core.models import CheckResult, CheckStatus, PhaseName
from bmad.ports.phase import BasePhase, Check, PhaseContext


class NoopPhase(BasePhase):
    def __init__(self, name: PhaseName) -> None:
        self.name = name
        self.count = int(os.environ.get("BENCH_CHECKS", "50"))

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        def noop(check_id: str) -> Check:
            return Check(
                id=check_id,
                title="no-op",
                run=lambda _ctx: CheckResult(id=check_id, title="no-op", status=CheckStatus.PASS),
            )

        return [noop(f"{self.name.value}.noop.{i}") for i in range(self.count)]

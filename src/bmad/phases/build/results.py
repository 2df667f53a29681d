"""Result shapes BUILD's gates share."""

from __future__ import annotations

from bmad.core.models import CheckResult
from bmad.ports.phase import CheckId


def gate_disabled(check: CheckId, setting: str) -> CheckResult:
    """A gate turned off: a warning (so production, where warnings fail, cannot push without it)."""
    return check.warned(
        f"not checked: {setting} is false",
        expected="the gate runs",
        observed="disabled",
        fix=f"set {setting}: true",
        evidence={"disabled": setting},
    )

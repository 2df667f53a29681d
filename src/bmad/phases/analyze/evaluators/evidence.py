"""Evaluators run once on what BUILD and MEASURE recorded for this release.

Signature: ``fn(ctx, params)``.
"""

from __future__ import annotations

from typing import Any

from bmad.core.models import PhaseName
from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.registry import Params, register
from bmad.phases.analyze.readiness_data import NA, Fail, Scope, Skip, Verdict


def _compare(value: Any, op: str, target: Any) -> bool:
    if op == "true":
        return value is True
    if op == "present":
        return value not in (None, "", [], {})
    try:
        number = float(str(value).rstrip("%"))
        goal = float(target)
    except (TypeError, ValueError):
        return False
    return {"eq": number == goal, "le": number <= goal, "ge": number >= goal, "gt": number > goal}[op]


def _target_value(ctx: EvalContext, p: Params) -> Any:
    setting = p.get("setting")
    if setting == "build.size_budget_mb":
        if ctx.config is None:
            return 500.0
        budget = getattr(ctx.config.build, "effective_size_budget_mb", None)
        return budget if budget is not None else ctx.config.build.size_budget_mb
    if setting:
        return getattr(ctx.settings, setting)
    return p.get("value")


def _first_deployment_na(ctx: EvalContext, p: Params) -> Verdict:
    if p.get("first_deployment_na") and ctx.first_deployment:
        return NA(
            f"first deployment to {ctx.environment_name or 'this environment'}: nothing of the service runs yet "
            "to measure; required from the next release on"
        )
    return None


@register("evidence", Scope.EVIDENCE)
def evidence(ctx: EvalContext, p: Params) -> Verdict:
    phase = PhaseName(p["phase"])
    attest = p.get("attestation")
    found, value = False, None
    for key in p["keys"]:
        found, value = ctx.evidence.lookup(phase, key)
        if found:
            break
    if not found:
        # Figures whose mere presence proves the item (e.g. MEASURE's e2e_metric_seconds: the
        # pushed test metric was seen by a query after that many seconds).
        for key in p.get("present_keys", ()):
            if ctx.evidence.lookup(phase, key)[0]:
                return None
        # Or the verdict of the check that measured it (e.g. measure.scrape_job for MO-006).
        check = ctx.evidence.check(phase, p["check"]) if p.get("check") else None
        if check is not None and check.status.value in ("pass", "warn", "fail"):
            if check.status.value == "pass":
                return None
            if (na := _first_deployment_na(ctx, p)) is not None:
                return na
            ok, message = ctx.attestations.check(attest, ctx.today) if attest else (False, "")
            if ok:
                return None
            return Fail(f"{phase.label}'s {check.id} did not pass ({check.status.value}): {check.summary}")
    if found:
        target = _target_value(ctx, p)
        if _compare(value, p["op"], target):
            return None
        if (na := _first_deployment_na(ctx, p)) is not None:
            return na
        wanted = {"true": "true", "present": "present"}.get(p["op"], f"{p['op']} {target}")
        return Fail(f"{phase.label} recorded {p['keys'][0]} = {value!r}; expected {wanted}")
    if (na := _first_deployment_na(ctx, p)) is not None:
        return na
    if attest:
        ok, message = ctx.attestations.check(attest, ctx.today)
        if ok:
            return None
        if not ctx.evidence.has(phase):
            return Skip(f"no {phase.label} record for this release, and {message}")
        return Fail(f"{phase.label} recorded no {p['keys'][0]}, and {message}")
    if not ctx.evidence.has(phase):
        return Skip(f"no {phase.label} record for this release")
    return Skip(f"{phase.label} recorded no {' / '.join(p['keys'])}")


def _level_passed(row: dict[str, Any]) -> dict[str, Any]:
    """A MEASURE level row: passed unless it says otherwise or broke the SLO (``slo_breach``)."""
    if "passed" in row:
        return row
    return {**row, "passed": not row.get("slo_breach") and bool(row.get("succeeded", row.get("requests", 0)))}


@register("load_test", Scope.EVIDENCE)
def load_test(ctx: EvalContext, p: Params) -> Verdict:
    found, value = ctx.evidence.lookup(PhaseName.MEASURE, "load_test")
    if found and isinstance(value, list):  # MEASURE's artifact: one row per concurrency level
        rows = [_level_passed(row) for row in value if isinstance(row, dict)]
        broken = [row for row in rows if not row["passed"]]
        if broken:
            where = broken[0].get("concurrency", broken[0].get("level", "?"))
            return Fail(
                f"the load test broke the SLO at concurrency {where}: {broken[0].get('slo_breach') or 'failed'}"
            )
        value = {"levels": rows}
    if found and isinstance(value, dict):
        levels = value.get("levels")
        target = value.get("target_rps")
        if isinstance(levels, list) and levels:
            passed = [lv for lv in levels if isinstance(lv, dict) and lv.get("passed")]
            best = max((float(lv.get("rps", 0)) for lv in passed), default=0.0)
            if target is not None and best < float(target):
                return Fail(f"load test passed up to {best:g} rps; target capacity is {target} rps")
            if not passed:
                return Fail("no load-test level passed")
            return None
        if value.get("passed") is True:
            return None
        return Fail("the load test did not pass")
    if (na := _first_deployment_na(ctx, p)) is not None:
        return na
    ok, message = ctx.attestations.check(p["attestation"], ctx.today)
    if ok:
        return None
    if not ctx.evidence.has(PhaseName.MEASURE):
        return Skip(f"no MEASURE record for this release, and {message}")
    return Fail(f"MEASURE recorded no load test, and {message}")

"""``analyze.access``: the rights DEPLOY will use, reviewed on the cluster before anything is applied.

One ``SelfSubjectAccessReview`` per verb and resource (through the target's
:class:`~bmad.ports.target.AccessPreflight`); a missing right fails ANALYZE, named as
``kubectl auth can-i`` asks it. The evidence also lists what ``prune: true`` would delete.
"""

from __future__ import annotations

from bmad.core.errors import BmadError
from bmad.core.models import CheckResult
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("analyze.access", "DEPLOY's access rights on the cluster")
EXPECTED = "every right DEPLOY uses (get, patch, create; delete when pruning; pods/log and events) is granted"


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    preflight, release = phase.ports.preflight, phase.ports.release
    if preflight is None or release is None:
        return CHECK.skipped(f"no access review: {phase.ports.target_note}")
    try:
        spec = release()
        missing = preflight.missing_rights(spec)
    except BmadError as exc:
        return CHECK.warned(
            f"the access review could not run: {exc}",
            expected=EXPECTED,
            observed=str(exc),
            fix=exc.hint or "",
        )
    prune_error: str | None = None
    try:
        would_prune = preflight.prune_preview(spec)
    except BmadError as exc:  # e.g. the inventory is unreadable: a missing right said below
        would_prune, prune_error = [], str(exc)
    questions = [f"kubectl auth can-i {right}" for right in missing]
    evidence = {"missing_rights": questions, "would_prune": would_prune, "prune_preview_error": prune_error}
    pruned = f"; prune would delete {len(would_prune)} object(s)" if would_prune else ""
    observed = "\n".join([f"{q}: no" for q in questions] + [f"would prune {ref}" for ref in would_prune])
    if missing:
        return CHECK.failed(
            f"{len(missing)} right(s) DEPLOY needs are missing{pruned}",
            expected=EXPECTED,
            observed=observed,
            fix="grant the identity of the kubeconfig context these rights (a Role and RoleBinding in the "
            "namespace), or deploy with a context that has them",
            evidence=evidence,
        )
    return CHECK.passed(
        f"every right DEPLOY needs is granted{pruned}",
        expected=EXPECTED,
        observed=observed or "all granted",
        evidence=evidence,
    )

"""Evaluators of what only a person can confirm: an attestation must exist and be current.

Signature: ``fn(ctx, params)``.
"""

from __future__ import annotations

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.registry import Params, register
from bmad.phases.analyze.model import Fail, Scope, Verdict


@register("attested", Scope.ATTESTATION)
def attested(ctx: EvalContext, p: Params) -> Verdict:
    ok, message = ctx.attestations.check(p["item"], ctx.today)
    return None if ok else Fail(message)

"""Evaluators run once on bmad.yaml.

Signature: ``fn(ctx, params)``.
"""

from __future__ import annotations

from typing import Any

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.common import references_of
from bmad.phases.analyze.evaluators.registry import Params, register
from bmad.phases.analyze.readiness_data import NA, Fail, Scope, Skip, Verdict


@register("config_field", Scope.CONFIG)
def config_field(ctx: EvalContext, p: Params) -> Verdict:
    if ctx.config is None:
        return Skip("no bmad.yaml loaded")
    value: Any = ctx.config
    for part in p["path"]:
        value = getattr(value, part, None)
    if value in (None, "", [], {}):
        return Fail(f"{'.'.join(p['path'])} is not set in bmad.yaml")
    return None


@register("env_monitoring_field", Scope.CONFIG)
def env_monitoring_field(ctx: EvalContext, p: Params) -> Verdict:
    env = ctx.environment
    if env is None:
        return Skip("no environment selected")
    if getattr(env.monitoring, p["field"], None) in (None, ""):
        return Fail(f"environments.{ctx.environment_name}.monitoring.{p['field']} is not set")
    return None


@register("required_secrets_declared", Scope.CONFIG)
def required_secrets_declared(ctx: EvalContext, p: Params) -> Verdict:
    if ctx.config is None:
        return Skip("no bmad.yaml loaded")
    referenced = any(references_of(w, "secret") for w in ctx.bundle.workloads)
    if not referenced:
        return NA("the bundle references no Secret")
    if not ctx.settings.required_secrets:
        return Fail("the bundle reads Secrets but analyze.required_secrets names no required keys")
    return None


@register("rollout_timeout", Scope.CONFIG)
def rollout_timeout(ctx: EvalContext, p: Params) -> Verdict:
    if ctx.config is None:
        return Skip("no bmad.yaml loaded")
    value = ctx.config.deploy.rollout_timeout_seconds
    if value > p["max"]:
        return Fail(
            f"deploy.rollout_timeout_seconds is {value}; a failed rollout is noticed after more than {p['max']}s"
        )
    return None

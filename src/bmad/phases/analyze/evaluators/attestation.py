"""Evaluators of what only a person can confirm: an attestation must exist and be current.

An item that cannot apply to the service is not applicable instead: named with a reason in
``analyze.not_applicable``, or seen from the bundle (``needs: data_store`` and the bundle keeps no data).

Signature: ``fn(ctx, params)``.
"""

from __future__ import annotations

import re
from typing import Any

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.registry import Params, register
from bmad.phases.analyze.readiness_data import NA, Fail, Scope, Verdict

# Environment variables and ConfigMap keys that name a database connection.
_DATABASE_SETTING = re.compile(
    r"(DATABASE|POSTGRES|MYSQL|MARIADB|MONGO|REDIS|(^|[-_.])DB([-_.]|$)|DSN|JDBC)", re.IGNORECASE
)


@register("attested", Scope.ATTESTATION)
def attested(ctx: EvalContext, p: Params) -> Verdict:
    declared = next((n for n in ctx.settings.not_applicable if n.id == p["item"]), None)
    if declared is not None:
        return NA(f"not applicable to this service (analyze.not_applicable): {declared.reason}")
    if p.get("needs") == "data_store" and not has_data_store(ctx):
        return NA(
            "the service keeps no data: no PersistentVolumeClaim, StatefulSet or migration container, and no "
            "database setting in the bundle's environment variables, ConfigMaps or analyze.required_secrets"
        )
    ok, message = ctx.attestations.check(p["item"], ctx.today)
    return None if ok else Fail(message)


def has_data_store(ctx: EvalContext) -> bool:
    """Whether the bundle or bmad.yaml shows a data store: storage claimed, a StatefulSet, a migration
    container, or a database setting (environment variable, ConfigMap key, required Secret key)."""
    bundle = ctx.bundle
    if bundle.of_kind("PersistentVolumeClaim", "StatefulSet"):
        return True
    keys = [k for secret in ctx.settings.required_secrets for k in secret.keys]
    for config_map in bundle.of_kind("ConfigMap"):
        data = config_map.data.get("data")
        keys += [str(k) for k in data] if isinstance(data, dict) else []
    if any(_DATABASE_SETTING.search(k) for k in keys):
        return True
    return any(_uses_database(container) for workload in bundle.workloads for container, _ in workload.containers())


def _uses_database(container: dict[str, Any]) -> bool:
    words = [str(container.get("name", "")), *(str(c) for c in container.get("command") or [])]
    if any("migrat" in word.lower() for word in words):
        return True
    names = [str(v.get("name", "")) for v in container.get("env") or [] if isinstance(v, dict)]
    return any(_DATABASE_SETTING.search(name) for name in names)

"""``coordination.k8s.io/v1`` Lease: the kind leader election and bmad's target lock use.

The API reference for Lease (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/):
a namespaced object whose ``spec`` holds ``holderIdentity``, ``leaseDurationSeconds``, ``acquireTime``,
``renewTime`` (MicroTime), ``leaseTransitions``, ``preferredHolder`` and ``strategy``; no status.
Validation as pkg/apis/coordination/validation (ValidateLeaseSpec): a duration must be greater than 0,
transitions not negative, ``preferredHolder`` only with a ``strategy``, and the only strategy
``OldestEmulationVersion``. The ``kubectl get leases`` columns are NAME, HOLDER, AGE (printLease in
pkg/printers/internalversion/printers.go). Updates with a stale ``metadata.resourceVersion`` are 409
Conflict as for every kind (writes.py): that is what makes a Lease a lock.
"""

from __future__ import annotations

from typing import Any

from .errors import Cause

Obj = dict[str, Any]
STRATEGIES = ("OldestEmulationVersion",)


def _invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {value}: {detail}", path)


def validate_lease(spec: Obj) -> list[Cause]:
    """The causes ValidateLeaseSpec reports for ``spec``."""
    causes: list[Cause] = []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and (not isinstance(duration, int) or duration <= 0):
        causes.append(_invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and (not isinstance(transitions, int) or transitions < 0):
        causes.append(_invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"))
    strategy = spec.get("strategy")
    if spec.get("preferredHolder") and not strategy:
        causes.append(
            Cause(
                "FieldValueForbidden",
                "Forbidden: preferredHolder can only be set if strategy is set",
                "spec.preferredHolder",
            )
        )
    if strategy and strategy not in STRATEGIES:
        causes.append(
            Cause(
                "FieldValueNotSupported",
                f'Unsupported value: "{strategy}": supported values: "{STRATEGIES[0]}"',
                "spec.strategy",
            )
        )
    return causes


def lease_holder(obj: Obj) -> str:
    """The HOLDER column: ``spec.holderIdentity`` (empty when nobody holds it)."""
    return str((obj.get("spec") or {}).get("holderIdentity") or "")

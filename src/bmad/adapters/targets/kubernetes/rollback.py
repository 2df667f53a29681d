"""Whole-release rollback: the previous release's stored bundle applied again, what the failed
release added deleted, HPA-owned replica counts left alone.

When no stored bundle is available (a release deployed before inventories existed, or pruned
from the inventory), the rollback says so and falls back to ``kubectl rollout undo``'s way: the
previous ReplicaSet's pod template (or the snapshot's) goes back into the Deployment.
"""

from __future__ import annotations

import copy
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError

from .bundle import RELEASE_ANNOTATION, template_without_hash
from .client import SYSTEM
from .inventory import ReleaseEntry

REVISION = "deployment.kubernetes.io/revision"


@datatype(frozen=True)
class RollbackPlan:
    """The inventory entry to return to, and the failed entry whose additions go (None: nothing to delete)."""

    entry: ReleaseEntry
    failed: ReleaseEntry | None


def plan_rollback(entries: list[ReleaseEntry], to: dict[str, Any] | None) -> RollbackPlan | None:
    """Which stored release a rollback to ``to`` (a snapshot, a release, or None: the previous) restores."""
    if not entries:
        return None
    wanted = str((to or {}).get("release") or (to or {}).get("version") or "")
    if wanted:
        index = next((i for i in range(len(entries) - 1, -1, -1) if entries[i].release == wanted), None)
    else:
        index = len(entries) - 2 if len(entries) >= 2 else None
    if index is None or not entries[index].bundle:
        return None  # nothing stored to re-apply (or too large to keep)
    newer = entries[index + 1 :]
    return RollbackPlan(entries[index], newer[-1] if newer else None)


def revision_of(obj: dict[str, Any]) -> int:
    return int((obj.get("metadata") or {}).get("annotations", {}).get(REVISION, "0") or 0)


def template_to_restore(
    deployment: dict[str, Any], replicasets: list[dict[str, Any]], to: dict[str, Any] | None
) -> tuple[dict[str, Any], str]:
    """(pod template, where it comes from): the snapshot's, the named release's ReplicaSet, or the previous one."""
    name = deployment["metadata"]["name"]
    if to and to.get("template"):
        where = f"snapshot (release {str(to.get('release') or '?')[:12]}, revision {to.get('revision')})"
        return copy.deepcopy(to["template"]), where
    if to and (to.get("release") or to.get("version")):
        wanted = str(to.get("release") or to.get("version"))
        matches = [rs for rs in replicasets if _rs_release(rs) == wanted]
        if not matches:
            raise AdapterError(
                SYSTEM,
                "rolling back",
                f"no ReplicaSet of {name} runs release {wanted[:12]}",
                hint="its revision was pruned (revisionHistoryLimit): deploy it again",
            )
        revision = matches[-1]["metadata"].get("annotations", {}).get(REVISION)
        return template_without_hash(matches[-1].get("spec", {}).get("template") or {}), (
            f"release {wanted[:12]} (revision {revision})"
        )
    older = [rs for rs in replicasets if revision_of(rs) < revision_of(deployment)]
    if not older:
        raise AdapterError(
            SYSTEM,
            "rolling back",
            f"deployment {name} has no previous revision",
            hint="the first release cannot be undone; deploy a known-good version",
        )
    previous = older[-1]
    where = f"revision {previous['metadata'].get('annotations', {}).get(REVISION)}"
    return template_without_hash(previous.get("spec", {}).get("template") or {}), where


def _rs_release(rs: dict[str, Any]) -> str | None:
    annotations = rs.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}
    value = annotations.get(RELEASE_ANNOTATION)
    return str(value) if value else None

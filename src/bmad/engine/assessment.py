"""What ``bmad checklist``, ``bmad assess`` and ``bmad analyze --format`` need from ANALYZE,
for the CLI (which reaches the phases only through the engine)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.phases.analyze.catalog import catalog, render_markdown
from bmad.phases.analyze.formats import render as render_readiness
from bmad.phases.analyze.readiness_data import Category

if TYPE_CHECKING:
    from bmad.phases.analyze.risk import RiskAssessment

__all__ = ["Category", "assess_change", "catalog", "render_markdown", "render_readiness", "whole_report"]


def whole_report(evidence_dir: Path) -> dict[str, Any] | None:
    """The readiness report with every finding, as a run wrote it to its evidence folder (None when the
    file is not there or not a report): the phase's artifact keeps MAX_FINDINGS_PER_ITEM an item."""
    import json

    from bmad.phases.analyze.readiness import READINESS_FILE

    try:
        data = json.loads((evidence_dir / READINESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("items"), list) else None


def assess_change(
    config_path: Path, env: str | None, change_types: list[str] | None, since: str | None
) -> RiskAssessment:
    """``bmad assess``: the risk of the change since ``since`` (default: the last deployed release)."""
    from datetime import date

    from bmad.adapters.git_history import GitHistory
    from bmad.config.loader import load_config
    from bmad.core.errors import UsageError
    from bmad.phases.analyze.attestations import load_attestations
    from bmad.phases.analyze.risk import DECISION_MATRIX, assess, infer_change_types

    cfg = load_config(config_path)
    environment = cfg.pick_environment(env)
    env_cfg = cfg.environment(environment)
    attestations = load_attestations(cfg.resolve_path(cfg.analyze.attestations))
    forced = change_types or ([cfg.analyze.risk.change_type] if cfg.analyze.risk.change_type else None)
    if forced:
        unknown = [t for t in forced if t not in DECISION_MATRIX]
        if unknown:
            raise UsageError(f"unknown change type {', '.join(unknown)}", hint="one of " + ", ".join(DECISION_MATRIX))
        return assess(
            forced,
            [f"change type given: {', '.join(forced)}"],
            environment=environment,
            environment_risk=env_cfg.risk,
            attestations=attestations,
            today=date.today(),
            inferred=False,
        )
    history = GitHistory(cfg.repository_dir)
    head = history.head()
    base_ref = since
    note = None
    if base_ref is None:
        base_ref, note = _last_deployed_version(cfg, environment, head)
    base = history.resolve(base_ref) if base_ref else None
    if base_ref and base is None:
        raise UsageError(f"git ref {base_ref!r} not found in {cfg.repository_dir}")
    changed = history.changed_files(base, head)
    types, reasons = infer_change_types(
        changed,
        cfg.analyze.risk,
        production=env_cfg.production,
        first_release=base is None,
        diff_text=lambda paths: history.diff_text(base, head, paths),
    )
    if note:
        reasons.append(note)
    result = assess(
        types,
        reasons,
        environment=environment,
        environment_risk=env_cfg.risk,
        attestations=attestations,
        today=date.today(),
    )
    result.base, result.head, result.files = base, head, len(changed)
    return result


def _last_deployed_version(cfg: Any, environment: str, head: str) -> tuple[str | None, str | None]:
    try:
        from bmad.core.models import Release
        from bmad.engine.opening import open_ledger

        ledger = open_ledger(cfg)
        try:
            last = ledger.history_for(Release(cfg.service.name, environment, head)).last_deployed()
        finally:
            ledger.close()
    except Exception as exc:
        return None, f"the ledger could not be read ({exc}); compared with an empty history"
    if last is None:
        return None, None
    return last.release.version, f"compared with the last deployed release {last.release.short_version}"

"""Risk assessment: the guide's decision matrix, with the change type given or read from git.

Decision matrix (guide, "When to Use B-MAD"), plus one row for infrastructure changes, which
the guide lists among the ideal use cases ("database migrations, scaling changes"):

=====================  ======  ===============  ============================
change type            risk    B-MAD required?  reasoning
=====================  ======  ===============  ============================
production_api         HIGH    yes              customer-facing, high impact
schema_migration       HIGH    yes              data integrity risk
security_patch         HIGH    yes              security validation critical
infrastructure         HIGH    yes              scaling/networking change for every request
dependency_update      MEDIUM  recommended      can introduce regressions
config_tuning          LOW     no               easy rollback, low risk (unless security-related)
development            LOW     no               not customer-facing
=====================  ======  ===============  ============================

The change types are inferred from the files changed since the last deployed release
(``analyze.risk`` path globs): migrations, security-related files (and config changes whose
diff mentions security settings), dependency manifests, infrastructure manifests, other code.
The environment's ``risk`` is a floor. For HIGH, the required mitigations must be in place
(evidence of this release or an attestation) for ``risk_assessment_complete``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from datetime import date
from fnmatch import fnmatchcase
from typing import Any

from bmad.config.analyze import RiskConfig
from bmad.core.datatypes import datatype
from bmad.phases.analyze.attestations import Attestations
from bmad.ports.source import ChangedFile

LEVELS = ("low", "medium", "high")


@datatype(frozen=True)
class MatrixRow:
    change_type: str
    label: str
    level: str
    required: str  # yes | recommended | no
    reasoning: str


DECISION_MATRIX: dict[str, MatrixRow] = {
    row.change_type: row
    for row in (
        MatrixRow("production_api", "Production API deployment", "high", "yes", "Customer-facing, high impact"),
        MatrixRow("schema_migration", "Database schema migration", "high", "yes", "Data integrity risk"),
        MatrixRow("security_patch", "Security patch", "high", "yes", "Security validation critical"),
        MatrixRow(
            "infrastructure",
            "Infrastructure change",
            "high",
            "yes",
            "Scaling and networking changes affect every request",
        ),
        MatrixRow("dependency_update", "Minor dependency update", "medium", "recommended", "Can introduce regressions"),
        MatrixRow("config_tuning", "Configuration tuning", "low", "no", "Easy rollback, low risk"),
        MatrixRow("development", "Development deployment", "low", "no", "Not customer-facing"),
    )
}

# Mitigation id -> (text, fact key or attestation id, kind). Facts come from this release's evidence.
MITIGATIONS: dict[str, tuple[str, str, str]] = {
    "rollback-plan": (
        "Rollback plan documented (target digest/revision, exact command, expected time)",
        "rollback_plan_documented",
        "fact",
    ),
    "baseline": ("Monitoring baseline captured before the change", "baseline_captured", "fact"),
    "alerts": ("Alert rules loaded for the service", "alerts_loaded", "fact"),
    "tests": ("Integration tests pass (100%)", "tests_passed", "fact"),
    "scan-clean": ("Image scan: 0 critical and 0 high vulnerabilities", "scan_clean", "fact"),
    "manifests-valid": ("Kubernetes manifests validated", "kubernetes_manifests_valid", "fact"),
    "security-review": ("Security review of the change recorded", "RISK-SECURITY-REVIEW", "attestation"),
    "backup": ("Database backup taken and restore tested before migrating", "RISK-BACKUP", "attestation"),
    "migration-reversible": (
        "Migration is backward compatible or has a tested down-migration",
        "RISK-MIGRATION-REVERSIBLE",
        "attestation",
    ),
    "capacity": ("Capacity checked after the infrastructure change (load test at target)", "load_tested", "fact"),
}
REQUIRED_FOR: dict[str, tuple[str, ...]] = {
    "production_api": ("rollback-plan", "baseline", "alerts", "tests"),
    "schema_migration": ("rollback-plan", "backup", "migration-reversible"),
    "security_patch": ("rollback-plan", "scan-clean", "security-review"),
    "infrastructure": ("rollback-plan", "manifests-valid", "capacity"),
    "dependency_update": ("tests", "scan-clean"),
    "config_tuning": (),
    "development": (),
}
# Words (split on anything but letters and digits, so tls_min_version counts) that make a
# configuration change security-related.
_SECURITY_WORD = re.compile(
    r"^(auth\w*|tls|ssl|cert\w*|secret\w*|password\w*|passwd|token\w*|jwt|cors|csrf|cipher\w*|encrypt\w*|"
    r"permission\w*|rbac|allowlist|denylist|firewall|security\w*|oauth\w*|saml|mfa|session\w*)$"
)


def security_words(line: str) -> set[str]:
    return {token for token in re.split(r"[^a-z0-9]+", line.lower()) if token and _SECURITY_WORD.match(token)}


@datatype
class Mitigation:
    id: str
    text: str
    for_types: list[str]
    satisfied: bool | None  # None = not known here (e.g. `bmad assess` before ANALYZE)
    how: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "for": self.for_types, "satisfied": self.satisfied, "how": self.how}


@datatype
class RiskAssessment:
    environment: str | None
    level: str
    bmad_required: str
    change_types: list[str]
    reasons: list[str]
    mitigations: list[Mitigation] = field(default_factory=list)
    inferred: bool = True
    base: str | None = None
    head: str | None = None
    files: int = 0

    @property
    def missing_mitigations(self) -> list[Mitigation]:
        return [m for m in self.mitigations if m.satisfied is not True]

    @property
    def complete(self) -> bool:
        """Risks identified and, for HIGH, every required mitigation in place."""
        return self.level != "high" or not self.missing_mitigations

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "level": self.level.upper(),
            "bmad_required": self.bmad_required,
            "change_types": [
                {
                    "type": t,
                    "label": DECISION_MATRIX[t].label,
                    "level": DECISION_MATRIX[t].level.upper(),
                    "bmad_required": DECISION_MATRIX[t].required,
                    "reasoning": DECISION_MATRIX[t].reasoning,
                }
                for t in self.change_types
            ],
            "reasons": list(self.reasons),
            "mitigations": [m.to_dict() for m in self.mitigations],
            "mitigations_required": self.level == "high",
            "complete": self.complete,
            "inferred": self.inferred,
            "base": self.base,
            "head": self.head,
            "files_changed": self.files,
        }

    def render(self) -> str:
        lines = [f"Risk: {self.level.upper()} (B-MAD required: {self.bmad_required})"]
        if self.environment:
            lines[0] += f" for environment {self.environment}"
        for t in self.change_types:
            row = DECISION_MATRIX[t]
            lines.append(f"  change type: {row.label} -> {row.level.upper()} ({row.reasoning})")
        lines.append("Reasons:")
        lines += [f"  - {r}" for r in self.reasons] or ["  - none"]
        if self.mitigations:
            title = "Mitigations required (HIGH):" if self.level == "high" else "Mitigations recommended:"
            lines.append(title)
            for m in self.mitigations:
                mark = {True: "[x]", False: "[ ]", None: "[?]"}[m.satisfied]
                lines.append(f"  {mark} {m.text} — {m.how}")
        return "\n".join(lines)


def _match(path: str, patterns: Sequence[str]) -> bool:
    lower = path.lower()
    name = lower.rsplit("/", 1)[-1]
    return any(fnmatchcase(lower, p.lower()) or fnmatchcase(name, p.lower()) for p in patterns)


def classify_file(path: str, rules: RiskConfig) -> str:
    """migration | security | dependency | infrastructure | config | docs | code"""
    if _match(path, rules.migration_paths):
        return "migration"
    if _match(path, rules.security_paths):
        return "security"
    if _match(path, rules.dependency_paths):
        return "dependency"
    if _match(path, rules.infrastructure_paths):
        return "infrastructure"
    if _match(path, rules.doc_paths):
        return "docs"
    if _match(path, rules.config_paths):
        return "config"
    return "code"


def infer_change_types(
    files: Sequence[ChangedFile],
    rules: RiskConfig,
    *,
    production: bool,
    first_release: bool = False,
    diff_text: Callable[[list[str]], str] | None = None,
) -> tuple[list[str], list[str]]:
    """(change types, reasons) for a set of changed files."""
    groups: dict[str, list[str]] = {}
    for f in files:
        groups.setdefault(classify_file(f.path, rules), []).append(f.path)
    sample = _sample
    types: list[str] = []
    reasons: list[str] = []
    if first_release:
        reasons.append("no earlier deployed release: the whole service is new in this environment")
        if production:
            types.append("production_api")
    if "migration" in groups:
        types.append("schema_migration")
        reasons.append(f"schema migration files changed: {sample(groups['migration'])}")
    if "security" in groups:
        types.append("security_patch")
        reasons.append(f"security-related files changed: {sample(groups['security'])}")
    if "config" in groups and diff_text is not None and not first_release:
        hits = _security_words_changed(diff_text(groups["config"]))
        if hits:
            if "security_patch" not in types:
                types.append("security_patch")
            reasons.append(f"configuration change touches security settings ({', '.join(hits[:5])})")
    if "infrastructure" in groups:
        types.append("infrastructure")
        reasons.append(f"infrastructure manifests changed: {sample(groups['infrastructure'])}")
    if "dependency" in groups:
        types.append("dependency_update")
        reasons.append(f"dependency manifests changed: {sample(groups['dependency'])}")
    if "code" in groups:
        if production and "production_api" not in types:
            types.append("production_api")
        reasons.append(f"application code changed: {sample(groups['code'])}")
    if not types:
        if "config" in groups:
            types.append("config_tuning")
            reasons.append(f"configuration-only change: {sample(groups['config'])}")
        elif groups.get("docs"):
            types.append("config_tuning")
            reasons.append(f"documentation only: {sample(groups['docs'])}")
        elif not files and not first_release:
            types.append("config_tuning")
            reasons.append("no file changed since the last deployed release (redeploy)")
    if not production:
        reasons.append("the environment is not production")
        types = ["development"]
    return types, reasons


def _sample(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _security_words_changed(diff: str) -> list[str]:
    """Security words on the added or removed lines of a unified diff."""
    changed_lines = [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return sorted({word for ln in changed_lines for word in security_words(ln[1:])})


def assess(
    change_types: Sequence[str],
    reasons: Sequence[str],
    *,
    environment: str | None,
    environment_risk: str | None = None,
    facts: Mapping[str, bool | None] | None = None,
    attestations: Attestations | None = None,
    today: date | None = None,
    inferred: bool = True,
) -> RiskAssessment:
    unknown = [t for t in change_types if t not in DECISION_MATRIX]
    if unknown:
        raise ValueError(f"unknown change type(s) {', '.join(unknown)}; one of {', '.join(DECISION_MATRIX)}")
    types = list(dict.fromkeys(change_types)) or ["config_tuning"]
    rows = [DECISION_MATRIX[t] for t in types]
    level = max((r.level for r in rows), key=LEVELS.index)
    notes = list(reasons)
    if environment_risk in LEVELS and LEVELS.index(environment_risk) > LEVELS.index(level):
        notes.append(f"environment risk floor: {environment_risk} (environments.{environment}.risk)")
        level = environment_risk
    required = {"high": "yes", "medium": "recommended", "low": "no"}[level]
    facts = facts or {}
    mitigations: list[Mitigation] = []
    wanted: dict[str, list[str]] = {}
    for t in types:
        for mid in REQUIRED_FOR[t]:
            wanted.setdefault(mid, []).append(t)
    for mid, for_types in wanted.items():
        text, key, kind = MITIGATIONS[mid]
        if kind == "attestation":
            if attestations is None or today is None:
                satisfied, how = None, f"attestation {key}"
            else:
                satisfied, how = attestations.check(key, today)
                how = f"{key}: {how}"
        else:
            satisfied = facts.get(key)
            how = {True: "recorded for this release", False: "not in place", None: "checked in ANALYZE"}[satisfied]
        mitigations.append(Mitigation(mid, text, for_types, satisfied, how))
    return RiskAssessment(
        environment=environment,
        level=level,
        bmad_required=required,
        change_types=types,
        reasons=notes,
        mitigations=mitigations,
        inferred=inferred,
    )

"""Phase records as YAML, committed to a dedicated git branch (see docs/records.md).

Path: ``records/<service>/<environment>/<version>/<phase>.yaml`` on branch ``records.branch``
(default ``bmad/records``), written by one ``git fast-import`` (no checkout, no index), so the
service's working tree and index stay exactly as they were. Everything is redacted first; the record holds
metric values, check outcomes and evidence paths, never secret values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.adapters import git
from bmad.config.models import RecordsConfig
from bmad.core.models import PhaseResult, Release
from bmad.core.redact import redact, redact_data
from bmad.engine.record_yaml import WIDTH, Unsupported, dump_record
from bmad.ledger.row_json import PlainArtifacts

if TYPE_CHECKING:
    from bmad.ledger.anchors import ChainAnchor


# an artifact whose JSON is longer is named by its digest in the record (see docs/records.md)
LARGE_ARTIFACT_BYTES = 16 * 1024
HEADER = "# bmad phase record: written by bmad, do not edit (the ledger holds its hash)\n"


def record_path(release: Release, result: PhaseResult) -> str:
    return f"records/{release.service}/{release.environment}/{release.version}/{result.phase.value}.yaml"


def render_record(
    release: Release,
    result: PhaseResult,
    *,
    attempt: int,
    evidence_dir: str | None,
    ledger_hash: str | None,
    ledger_signature: str | None = None,
    texts: PlainArtifacts | None = None,
) -> str:
    """The phase's git record (YAML). ``texts``: the artifacts' plain forms and JSON texts as the
    ledger made them for this result (:meth:`bmad.ledger.Ledger.finish_phase`): a large artifact's
    digest is then taken of the text the ledger stored, not of a second redaction and encoding."""
    data: dict[str, Any] = {
        "service": release.service,
        "environment": release.environment,
        "version": release.version,
        "dirty": release.dirty,
        "commit_time": release.commit_time.isoformat() if release.commit_time else None,
        "phase": result.phase.value,
        "attempt": attempt,
        "status": result.status.value,
        "started_at": result.started_at.isoformat() if result.started_at else None,
        "finished_at": result.finished_at.isoformat() if result.finished_at else None,
        "duration_seconds": round(result.duration_seconds, 3),
        "forced_reason": result.forced_reason,
        "message": result.message or None,
        "metrics": dict(result.metrics),
        "checks": {status: count for status, count in result.counts().items()},
        "results": [
            {
                key: value
                for key, value in {
                    "id": check.id,
                    "title": check.title,
                    "status": check.status.value,
                    "duration_seconds": round(check.duration_seconds, 3),
                    "summary": check.summary or None,
                    "expected": check.expected or None,
                    "observed": check.observed or None,
                    "fix": check.fix or None if check.status.value in ("fail", "warn") else None,
                    "evidence_files": list(check.evidence_files) or None,
                }.items()
                if value is not None
            }
            for check in result.checks
        ],
        "artifacts": result.artifacts or None,
        "evidence_dir": evidence_dir,
        "spans": [span.to_dict() for span in result.spans] or None,  # waits on other systems
        "ledger_hash": ledger_hash,
        "ledger_signature": ledger_signature,  # only with ledger.signing_key
    }
    kept = {k: v for k, v in data.items() if v is not None or k == "forced_reason"}
    artifacts = shown_artifacts(kept["artifacts"], texts or PlainArtifacts()) if "artifacts" in kept else None
    clean = json.loads(json.dumps(redact_data(kept | {"artifacts": None}), default=str))  # plain, declared order
    if artifacts is not None:
        clean["artifacts"] = artifacts
    else:
        clean.pop("artifacts", None)
    try:
        text = dump_record(clean)
    except Unsupported:
        text = _pyyaml_dump(clean)
    return HEADER + redact(text)


def _pyyaml_dump(data: dict[str, Any]) -> str:
    """What :func:`dump_record` does not write, through PyYAML: libyaml's emitter when PyYAML was
    built with it, faster; the same text as the pure-Python one for ordinary values (characters
    outside the BMP, NEL and long double-quoted strings may be written differently; they load
    back to the same data)."""
    import yaml

    dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=WIDTH)


def shown_artifacts(artifacts: dict[str, Any], texts: PlainArtifacts) -> dict[str, Any]:
    """The artifacts as the git record and ``phase.json`` show them, in their order: redacted and plain
    (their JSON round trip), and a large one (the readiness report of a big bundle) named by the size
    and SHA-256 of its canonical JSON in UTF-8 (the text the ledger hashes) instead of repeated: the
    ledger and the evidence folder keep it whole, and emitting it as YAML was most of the cost of
    recording a large phase (and encoding it in phase.json again, ~5 % of an ANALYZE of the example)."""
    plain = texts.of(artifacts)  # each value made plain once: the ledger's, when it made them
    shown: dict[str, Any] = {}
    for name, value in artifacts.items():
        size, digest = texts.digest(plain[str(name)])  # made once for the record and phase.json
        if size <= LARGE_ARTIFACT_BYTES:
            shown[str(name)] = json.loads(json.dumps(redact_data(value), default=str))  # its keys in their order
        else:
            shown[str(name)] = {"omitted_bytes": size, "sha256": digest}
    return shown


def commit_record(
    repo: Path,
    settings: RecordsConfig,
    release: Release,
    result: PhaseResult,
    content: str,
    *,
    parent: str | None = None,
) -> PendingRecord:
    """Start the commit of one phase record; :meth:`PendingRecord.finish` returns the commit id and
    pushes when ``records.push`` is on. ``parent``: the records branch's commit as last read (a stale
    one only costs a retry)."""
    path = record_path(release, result)
    message = f"bmad: {release.key} {result.phase.label} {result.status.value}"
    commit = git.start_commit(repo, settings.branch, {path: content}, message, parent=parent)
    return PendingRecord(repo, settings, commit)


class PendingRecord:
    """A record commit under way (git writes it while bmad goes on)."""

    def __init__(self, repo: Path, settings: RecordsConfig, commit: git.PendingCommit) -> None:
        self.repo, self.settings, self.commit = repo, settings, commit

    def finish(self) -> str:
        """The record's commit id, pushed when ``records.push`` is on."""
        commit = self.commit.result()
        if self.settings.push:
            git.push(self.repo, self.settings.remote, self.settings.branch)
        return commit


def read_anchors(repo: Path, settings: RecordsConfig) -> list[ChainAnchor]:
    """The chain hash of every version of every phase record on the records branch (and on its
    remote-tracking branch when records are pushed): what ``verify-ledger`` compares the ledger with."""
    refs = [settings.branch] + ([f"{settings.remote}/{settings.branch}"] if settings.push else [])
    anchors: list[ChainAnchor] = []
    for ref in refs:
        for commit, path, text in git.file_versions(repo, ref, "records/"):
            anchor = _anchor_of(text, f"{ref}@{commit[:12]}:{path}")
            if anchor is not None:
                anchors.append(anchor)
    return anchors


def _anchor_of(text: str, source: str) -> ChainAnchor | None:
    import yaml

    from bmad.core.yaml_nodes import safe_load
    from bmad.ledger.anchors import ChainAnchor

    try:
        data = safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("ledger_hash"), str):
        return None
    signature = data.get("ledger_signature")
    return ChainAnchor(
        service=str(data.get("service")),
        environment=str(data.get("environment")),
        version=str(data.get("version")),
        phase=str(data.get("phase")),
        attempt=int(data.get("attempt") or 0),
        hash=data["ledger_hash"],
        source=source,
        signature=signature if isinstance(signature, str) else None,
    )

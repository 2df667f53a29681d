"""What a chained record's hash covers, and the seal of a running row bmad started.

Plain functions over the fields of a row (:class:`RunFields`, :class:`RollbackFields`): the ORM
rows of :mod:`bmad.ledger.schema` and the sqlite3 writer's rows (:mod:`bmad.ledger.sqlite_writer`)
both have them, so either path hashes and seals a record the same way, and no SQLAlchemy loads here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from bmad.core.digest import sha256
from bmad.ledger.hashing import canonical_json, canonical_object, iso

_SEAL_PREFIX = "seal:"


class ReleaseFields(Protocol):
    @property
    def service(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def dirty(self) -> bool: ...
    @property
    def commit_time(self) -> datetime | None: ...


class CheckFields(Protocol):
    @property
    def position(self) -> int: ...
    @property
    def check_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def duration_seconds(self) -> float: ...
    @property
    def data(self) -> dict[str, Any]: ...


class RunFields(Protocol):
    """The columns of a ``phase_runs`` row that hashes and seals read."""

    @property
    def id(self) -> int: ...
    @property
    def release_id(self) -> int: ...
    @property
    def release(self) -> ReleaseFields: ...
    @property
    def phase(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def forced_reason(self) -> str | None: ...
    @property
    def metrics(self) -> dict[str, Any]: ...
    @property
    def artifacts(self) -> dict[str, Any]: ...
    @property
    def message(self) -> str: ...
    @property
    def evidence_dir(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def chain_seq(self) -> int | None: ...
    @property
    def hash(self) -> str | None: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def ci_run_url(self) -> str | None: ...
    @property
    def ci_trigger(self) -> str | None: ...
    @property
    def checks(self) -> Sequence[CheckFields]: ...


class RollbackFields(Protocol):
    @property
    def chain_seq(self) -> int | None: ...
    @property
    def release(self) -> ReleaseFields: ...
    @property
    def from_version(self) -> str: ...
    @property
    def to_version(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def detected_at(self) -> datetime: ...
    @property
    def recovered_at(self) -> datetime | None: ...
    @property
    def mttr_seconds(self) -> float | None: ...
    @property
    def manual(self) -> bool: ...


def sign(key: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``key`` (hex)."""
    import hashlib  # with OpenSSL (~4 ms): only a ledger with a signing key
    import hmac

    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def seal(row: RunFields, key: str | None) -> str:
    """What :func:`sealed` expects in the ``hash`` column of a running row bmad started."""
    fields: dict[str, Any] = {
        "id": row.id,
        "release_id": row.release_id,
        "phase": row.phase,
        "attempt": row.attempt,
        "owner": row.owner,
        "forced_reason": row.forced_reason,
        "evidence_dir": row.evidence_dir,
    }
    deployer = deployer_content(row)
    if deployer is not None:
        fields["deployer"] = deployer  # sealed rows started before revision 0002 keep their seal
    content = canonical_json(fields)
    digest = sign(key, content) if key else sha256(content.encode()).hexdigest()
    return _SEAL_PREFIX + digest[: 64 - len(_SEAL_PREFIX)]


def deployer_content(row: RunFields) -> dict[str, str | None] | None:
    """Who ran a phase record (revision 0002), None when nothing is known: such a record, like every
    record written before, is hashed and sealed exactly as it always was."""
    deployer = {"actor": row.actor, "ci_run_url": row.ci_run_url, "ci_trigger": row.ci_trigger}
    return deployer if any(value is not None for value in deployer.values()) else None


def sealed(row: RunFields, key: str | None) -> bool:
    """Whether a running row is as bmad left it: its seal matches and it holds no outcome yet."""
    untouched = not row.metrics and not row.artifacts and not row.message and not row.checks
    return untouched and row.chain_seq is None and row.finished_at is None and row.hash == seal(row, key)


def describe_run(row: RunFields) -> str:
    """A phase record as problems and warnings name it."""
    seq = f", chain #{row.chain_seq}" if row.chain_seq is not None else ""
    return f"phase_runs id {row.id} ({row.phase} attempt {row.attempt}{seq})"


def phase_content(row: RunFields) -> dict[str, Any]:
    """What a phase record's hash covers."""
    data: dict[str, Any] = {
        "kind": "phase",
        "seq": row.chain_seq,
        "release": _release_content(row.release),
        "phase": row.phase,
        "attempt": row.attempt,
        "status": row.status,
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
        "forced_reason": row.forced_reason,
        "metrics": row.metrics,
        "artifacts": row.artifacts,
        "message": row.message,
        "evidence_dir": row.evidence_dir,
        "checks": [
            {
                "position": c.position,
                "check_id": c.check_id,
                "title": c.title,
                "status": c.status,
                "duration_seconds": c.duration_seconds,
                "data": c.data,
            }
            for c in sorted(row.checks, key=lambda c: c.position)
        ],
    }
    deployer = deployer_content(row)
    if deployer is not None:
        data["deployer"] = deployer
    return data


def phase_content_text(row: RunFields, artifacts_text: Callable[[dict[str, Any]], list[str]]) -> list[str]:
    """``canonical_json(phase_content(row))`` in pieces to join, each artifacts dict (the phase's, each
    check's) written as ``artifacts_text`` gives it (its ``canonical_json``, each large value made once)."""
    content = phase_content(row)
    checks = ["["]
    for check in content["checks"]:
        if len(checks) > 1:
            checks.append(",")
        data = check["data"]
        texts = {"artifacts": artifacts_text(data["artifacts"])} if "artifacts" in data else {}
        checks.extend(canonical_object(check, {"data": canonical_object(data, texts)}))
    checks.append("]")
    return canonical_object(content, {"artifacts": artifacts_text(content["artifacts"]), "checks": checks})


def rollback_content(row: RollbackFields) -> dict[str, Any]:
    """What a rollback record's hash covers."""
    return {
        "kind": "rollback",
        "seq": row.chain_seq,
        "release": _release_content(row.release),
        "from_version": row.from_version,
        "to_version": row.to_version,
        "reason": row.reason,
        "detected_at": iso(row.detected_at),
        "recovered_at": iso(row.recovered_at),
        "mttr_seconds": row.mttr_seconds,
        "manual": bool(row.manual),
    }


def _release_content(row: ReleaseFields) -> dict[str, Any]:
    return {
        "service": row.service,
        "environment": row.environment,
        "version": row.version,
        "dirty": bool(row.dirty),
        "commit_time": iso(row.commit_time),
    }

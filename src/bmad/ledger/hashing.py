"""Canonical content and hashes of chained records (phase runs and rollbacks)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bmad.core.digest import sha256


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def plain(data: Any) -> Any:
    """The JSON round trip of ``data``: what the database gives back, so hashes stay stable.

    Non-finite floats (NaN, infinity) become None: PostgreSQL's JSON type has no such values. The
    encoder writes them as the constants ``NaN``/``Infinity``/``-Infinity``, so the decoder turns
    exactly those into None (no second walk over the data).
    """
    return json.loads(canonical_json(data), parse_constant=_no_constant)


def _no_constant(_name: str) -> None:
    return None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    digest = sha256()
    digest.update(prev_hash.encode())
    digest.update(b"\n")
    digest.update(canonical_json(content).encode())
    return digest.hexdigest()

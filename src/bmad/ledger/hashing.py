"""Canonical content and hashes of chained records (phase runs and rollbacks)."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from typing import Any


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def plain(data: Any) -> Any:
    """The JSON round trip of ``data``: what the database gives back, so hashes stay stable.

    Non-finite floats (NaN, infinity) become None: PostgreSQL's JSON type has no such values.
    """
    return _finite(json.loads(canonical_json(data)))


def _finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_finite(item) for item in data]
    return data


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode())
    digest.update(b"\n")
    digest.update(canonical_json(content).encode())
    return digest.hexdigest()

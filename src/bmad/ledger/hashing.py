"""Canonical content and hashes of chained records (phase runs and rollbacks)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bmad.core.digest import sha256


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_object(data: Mapping[str, Any], texts: Mapping[str, str]) -> str:
    """``canonical_json(data)`` of a dict with str keys, the values of the keys in ``texts`` written
    as those texts (each their value's ``canonical_json``, made once by the caller)."""
    members = (
        canonical_json(key) + ":" + (texts[key] if key in texts else canonical_json(data[key])) for key in sorted(data)
    )
    return "{" + ",".join(members) + "}"


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
    return chain_hash_of_text(prev_hash, canonical_json(content))


def chain_hash_of_text(prev_hash: str, canonical: str) -> str:
    """:func:`chain_hash` of the content whose ``canonical_json`` is ``canonical``."""
    digest = sha256()
    digest.update(prev_hash.encode())
    digest.update(b"\n")
    digest.update(canonical.encode())
    return digest.hexdigest()

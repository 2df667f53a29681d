"""Canonical content and hashes of chained records (phase runs and rollbacks)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bmad.core.digest import sha256


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_object(data: Mapping[str, Any], texts: Mapping[str, str | list[str]]) -> list[str]:
    """The text of ``canonical_json(data)``, a dict with str keys, in pieces to join: the values of
    the keys in ``texts`` are written as those texts (their ``canonical_json``, one string or pieces,
    made once by the caller). Pieces, not one string: a megabyte is not copied at every level."""
    pieces = ["{"]
    for key in sorted(data):
        if len(pieces) > 1:
            pieces.append(",")
        pieces.append(canonical_json(key) + ":")
        text = texts[key] if key in texts else canonical_json(data[key])
        if isinstance(text, str):
            pieces.append(text)
        else:
            pieces.extend(text)
    pieces.append("}")
    return pieces


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
    return chain_hash_of_pieces(prev_hash, [canonical_json(content)])


def chain_hash_of_pieces(prev_hash: str, pieces: Iterable[str]) -> str:
    """:func:`chain_hash` of the content whose ``canonical_json`` is ``"".join(pieces)``. A large
    ANALYZE's is megabytes: SHA-256 by OpenSSL (several times faster than CPython's own once loaded),
    each piece encoded alone (a text with a character outside ASCII does not widen the others)."""
    return sha256(b"".join([prev_hash.encode(), b"\n", *(piece.encode() for piece in pieces)])).hexdigest()

"""SHA-256 of the small texts every command hashes, without loading OpenSSL.

``hashlib`` loads OpenSSL's ``_hashlib`` when imported: ~4 ms of every ``bmad`` command, which
hashes only short texts (cache keys, record chains, seals). CPython's own SHA-256 (``_sha256``,
``_sha2`` from 3.12) gives the same digests and loads in a fraction of a millisecond, at about half
OpenSSL's speed per byte: it is used for data up to :data:`SMALL_BYTES` while ``hashlib`` is not
loaded yet. Larger data goes to ``hashlib``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from functools import cache
from typing import Protocol

SMALL_BYTES = 1 << 20  # below this, loading OpenSSL costs more than its faster hashing saves


class Hash(Protocol):
    """What bmad uses of a ``hashlib`` hash object."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


@cache
def _builtin_sha256() -> Callable[[bytes], Hash] | None:
    for name in ("_sha256", "_sha2"):  # 3.11, 3.12+
        try:
            constructor: Callable[[bytes], Hash] = importlib.import_module(name).sha256
        except ImportError:
            continue
        return constructor
    return None  # a Python built without them


def sha256(data: bytes = b"") -> Hash:
    """A SHA-256 hash object started with ``data``: the same digests as ``hashlib.sha256``."""
    builtin = _builtin_sha256() if len(data) <= SMALL_BYTES and "hashlib" not in sys.modules else None
    if builtin is not None:
        return builtin(data)
    import hashlib

    return hashlib.sha256(data)

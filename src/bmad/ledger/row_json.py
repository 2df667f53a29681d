"""The plain, redacted values of a finished phase, and their stored and hashed JSON texts, made once each.

A phase record stores ``plain(redact_data(value))`` of its metrics, artifacts and check data as
``json.dumps`` text, and its hash covers :func:`~bmad.ledger.hashing.canonical_json` of the same
plain values. A check's artifact is also its phase's (the engine merges them; an older ANALYZE record
holds its readiness report, a megabyte for 1,000 objects, in both): :class:`PlainArtifacts` redacts it,
makes it plain and encodes it in each form once, and the rows and the hashed text are spliced from
those texts (a JSON object's text is its members' texts joined, so the bytes are those a single
``json.dumps`` writes). The engine names a large artifact in the phase's git record by the digest of
the same hashed text (:mod:`bmad.engine.records`), made once for both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from bmad.core.digest import sha256
from bmad.core.escapes import encodable
from bmad.core.redact import masked_named, redact, redact_data, secret_named
from bmad.ledger.hashing import canonical_json, canonical_object, plain

_AS_IS = frozenset({int, bool, type(None)})


def _plain(data: Any, strings: dict[str, str]) -> Any:
    """:meth:`PlainArtifacts.plain`; ``strings``: each distinct text and its redaction, made encodable
    (a lone surrogate, a file name's byte that is not UTF-8, would stop the UTF-8 writers)."""
    cls = data.__class__
    if cls is dict:
        return _plain_dict(data, strings)
    if cls is str:
        masked = strings.get(data)
        if masked is None:
            masked = strings[data] = encodable(redact(data))
        return masked
    if cls is list or cls is tuple:
        return [_plain(item, strings) for item in data]
    if cls in _AS_IS:
        return data
    if cls is float:
        return data if data - data == 0.0 else None  # NaN and infinities: None, as plain() makes them
    return plain(redact_data(data))


def _plain_dict(data: dict[Any, Any], strings: dict[str, str]) -> Any:
    """A dict's plain form, its texts and plain scalars done in the loop (most of a report's values)."""
    try:
        keys = sorted(data)
    except TypeError:  # keys of mixed types: plain() raises the same error
        return plain(redact_data(data))
    made = {}
    for key in keys:
        if key.__class__ is not str:  # plain() writes it as a text, ordered as it was
            return plain(redact_data(data))
        value = data[key]
        cls = value.__class__
        if cls is str:
            if secret_named(key):  # DB_PASSWORD, client_secret: masked whole
                made[key] = masked_named(value)
                continue
            masked = strings.get(value)
            if masked is None:
                masked = strings[value] = encodable(redact(value))
            made[key] = masked
        elif cls in _AS_IS:
            made[key] = value
        else:
            made[key] = _plain(value, strings)
    return made


def row_object(members: Iterable[tuple[str, str]]) -> str:
    """``json.dumps`` of a dict (str keys) from its members' keys and value texts, in that order."""
    pieces = ["{"]
    for key, text in members:
        if len(pieces) > 1:
            pieces.append(", ")
        pieces += (json.dumps(key), ": ", text)
    pieces.append("}")
    return "".join(pieces)


class PlainArtifacts:
    """The artifacts of a phase and of its checks, plain and redacted, and their texts.

    Each artifact value is made plain once (by identity: a check's artifact is often also the
    phase's), and each plain value is encoded once for the rows (``json.dumps``) and once for the
    hash (``canonical_json``)."""

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}  # each distinct text redacted once
        self._plain: dict[int, tuple[Any, Any]] = {}  # by id: the value (its id stays its own), its plain form
        self._row_texts: dict[int, tuple[Any, str]] = {}  # by id of a plain form: it, its json.dumps
        self._hash_texts: dict[int, tuple[Any, str]] = {}  # by id of a plain form: it, its canonical_json
        self._digests: dict[int, tuple[Any, int, str]] = {}  # by id of a plain form: it, its text's size and digest

    def plain(self, data: Any) -> Any:
        """``plain(redact_data(data))`` in one walk, without the JSON round trip.

        The plain JSON types (by exact class) are made plain here: keys sorted (``plain`` sorts them),
        non-finite floats made None, tuples made lists, each distinct text redacted once. Anything else
        (a dict with a key that is not a str, a subclass, an object the encoder writes with ``str``)
        goes through ``plain(redact_data(..))`` itself.
        """
        return _plain(data, self._strings)

    def of(self, artifacts: dict[str, Any]) -> dict[str, Any]:
        """``plain(redact_data(artifacts))``, each artifact value made plain once."""
        if not all(key.__class__ is str for key in artifacts):
            return dict(self.plain(artifacts))
        return {name: self._value(artifacts[name]) for name in sorted(artifacts)}  # plain() sorts the keys

    def _value(self, value: Any) -> Any:
        done = self._plain.get(id(value))
        if done is None or done[0] is not value:
            done = self._plain[id(value)] = (value, self.plain(value))
        return done[1]

    def row_text(self, artifacts: dict[str, Any]) -> str:
        """``json.dumps(artifacts)`` of artifacts :meth:`of` made."""
        return row_object((name, _text(value, self._row_texts, json.dumps)) for name, value in artifacts.items())

    def canonical(self, value: Any) -> str:
        """``canonical_json`` of one plain value :meth:`of` made: the text the hash covers, made once."""
        return _text(value, self._hash_texts, canonical_json)

    def digest(self, value: Any) -> tuple[int, str]:
        """The UTF-8 size and SHA-256 of :meth:`canonical` of one plain value, made once (the git record
        and phase.json each name a large artifact by them)."""
        known = self._digests.get(id(value))
        if known is None or known[0] is not value:
            text = self.canonical(value).encode("utf-8")
            known = self._digests[id(value)] = (value, len(text), sha256(text).hexdigest())
        return known[1], known[2]

    def hash_text(self, artifacts: dict[str, Any]) -> list[str]:
        """``canonical_json(artifacts)`` of artifacts :meth:`of` made, in pieces to join."""
        texts: dict[str, str | list[str]] = {
            name: _text(value, self._hash_texts, canonical_json) for name, value in artifacts.items()
        }
        return canonical_object(artifacts, texts)


def _text(value: Any, done: dict[int, tuple[Any, str]], encode: Callable[[Any], str]) -> str:
    known = done.get(id(value))
    if known is None or known[0] is not value:
        known = done[id(value)] = (value, encode(value))
    return known[1]

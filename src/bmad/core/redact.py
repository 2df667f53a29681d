"""Keep secret values out of logs, records, reports and exceptions.

Every secret bmad resolves (from an env var or a file named in ``bmad.yaml``, a registry
password, a Grafana token ...) is registered here with :func:`register_secret`. Anything
that leaves the process — evidence files, ledger rows, log lines, error messages, SARIF —
goes through :func:`redact` first. On top of known values, the patterns of
:mod:`bmad.core.secrets` catch credential shapes (``password=...``, bearer tokens, AWS keys, PEM
private keys, GitHub and Slack tokens ...) that bmad did not resolve itself: everything ANALYZE
flags as a secret value is masked here.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bmad.core.secrets import MASK, REDACTION_PATTERNS, SecretPattern

__all__ = [
    "MASK",
    "contains_known_secret",
    "escaped_forms",
    "fold_case",
    "forget_secrets",
    "known_secret_count",
    "mask_value",
    "masked_named",
    "redact",
    "redact_argv",
    "redact_data",
    "redact_json_text",
    "register_secret",
    "secret_named",
    "secrets_generation",
]

_MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
# Each text is redacted once: the same check ids, statuses and messages recur in every record,
# report and evidence file. Cleared whenever the set of secrets changes.
_redacted: dict[str, str] = {}
_CACHE_LIMIT = 8192
_CACHED_LENGTH = 1 << 16  # a longer text (an evidence file) is redacted once: neither hashed nor kept
_longest_first: list[str] = []  # _secrets, longest first (a secret inside another is masked after it)
_generation = 0  # how often _secrets changed
# Up to this length, one search for the start of any pattern (an alternation) rules most texts out at
# once; a longer text is scanned for each start by ``str.find`` (C, faster per character than the
# alternation: 2.4 MB of SARIF in ~1 ms a start against ~30 ms for it).
SHORT_TEXT = 256
# compiled where the module is defined, so the console script's regex cache serves it (bmad.core.regex_cache)
_STARTS = sorted({start for pattern in REDACTION_PATTERNS for start in pattern.starts}, key=len, reverse=True)
_ANY_START = re.compile("|".join(map(re.escape, _STARTS)))


def _new_lock_in_child() -> None:
    """A child forked while another thread held ``_lock`` gets a free one (:mod:`bmad.core.aside`)."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` masks it wherever it appears."""
    if value is None:
        return
    value = value.strip()
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value not in _secrets:
            _secrets.add(value)
            _changed()


def known_secret_count() -> int:
    with _lock:
        return len(_secrets)


def forget_secrets() -> None:
    """Drop every registered value (tests use this between cases)."""
    with _lock:
        _secrets.clear()
        _changed()


def secrets_generation() -> int:
    """A number that changes whenever a secret is registered or forgotten: a text redacted while it
    stays the same needs no second pass (redacting a redacted text changes nothing)."""
    return _generation


def _changed() -> None:
    """Called with ``_lock`` held after ``_secrets`` changed."""
    global _longest_first, _generation
    _generation += 1
    _redacted.clear()
    values = set(_secrets)
    for secret in _secrets:
        values.update(escaped_forms(secret))
    _longest_first = sorted(values, key=len, reverse=True)


def escaped_forms(secret: str) -> set[str]:
    """How ``secret`` reads once a format has escaped it, besides itself: in a JSON string (``\\"``,
    ``\\\\``, ``\\uXXXX``; with and without ASCII escapes), and as bmad's writers escape XML text and
    attributes (the JUnit writer, as ElementTree does), HTML and Markdown (:mod:`bmad.core.escapes`).
    A text made in one of those formats and redacted whole (SARIF, JUnit XML, a document) has a
    registered secret masked in any of them."""
    from json.encoder import encode_basestring, encode_basestring_ascii

    from bmad.core import escapes

    forms = {
        encode_basestring_ascii(secret)[1:-1],
        encode_basestring(secret)[1:-1],
        escapes.xml_text(secret),
        escapes.xml_attribute(secret),
        escapes.html(secret),
        escapes.markdown(secret),
    }
    forms.discard(secret)
    return forms


def redact(text: str) -> str:
    """Mask every registered secret value and every credential-shaped pattern in ``text``."""
    if not text:
        return text
    if len(text) > _CACHED_LENGTH:
        return _mask(text, _longest_first)
    with _lock:
        done = _redacted.get(text)
        if done is not None:
            return done
        values = _longest_first
    masked = _mask(text, values)
    with _lock:
        if len(_redacted) >= _CACHE_LIMIT:
            _redacted.clear()
        if values is _longest_first:  # no secret registered meanwhile
            _redacted[text] = masked
    return masked


def _mask(text: str, values: list[str]) -> str:
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    # A match begins where the folded text begins with one of the pattern's ``starts`` (str.find,
    # fast), so the regex runs only there: a multi-megabyte evidence file without any of them is
    # not scanned by every regex.
    folded = fold_case(text)
    if len(text) <= SHORT_TEXT and _ANY_START.search(folded) is None:
        return text  # most of a report's distinct texts: one C call, not a find per start
    for pattern in REDACTION_PATTERNS:
        if not _matches_somewhere(pattern, text, folded):
            continue
        masked = pattern.regex.sub(pattern.mask, text)
        if masked != text:
            text = masked
            folded = fold_case(text)
    return text


# What a case-insensitive regex matches to an ASCII letter besides its capital (Python's re,
# Unicode: dotted capital I and dotless i match i, long s matches s, the Kelvin sign matches k).
_NON_ASCII_LETTERS = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))


def fold_case(text: str) -> str:
    """``text`` with every character a case-insensitive regex takes for an ASCII letter made that
    lower-case letter; same length, so a position in it is the same position in ``text``.

    Any other non-ASCII character becomes ``?`` (no pattern's ``starts`` holds one): the ASCII
    codec's replacement runs in C, where a translation table costs ~60 ns a character (5 ms on
    an 85 kB report)."""
    if text.isascii():
        return text.lower()
    for letter, ascii_letter in _NON_ASCII_LETTERS:
        if letter in text:
            text = text.replace(letter, ascii_letter)
    return text.encode("ascii", "replace").decode("ascii").lower()


def _matches_somewhere(pattern: SecretPattern, text: str, folded: str) -> bool:
    """Whether ``pattern`` matches ``text`` anywhere (``folded`` is :func:`fold_case` of it)."""
    for start in pattern.starts:
        at = folded.find(start)
        while at >= 0:
            if pattern.regex.match(text, at):
                return True
            at = folded.find(start, at + 1)
    return False


def redact_json_text(text: str, *, keys: Iterable[str], strings: Iterable[str]) -> str:
    """:func:`redact` of a JSON text laid out as :mod:`bmad.core.indented_json` writes it, ``keys``
    and ``strings`` the text of each of its keys and strings (its ``IndentedJson``).

    A pattern's match begins with one of its ``starts``. None holds a ``"``, so each one found in
    the text lies within one key or string, or outside all of them, among the layout, numbers,
    ``null``, ``true`` and ``false``, which hold none. The text is searched only for the
    registered secrets (they may hold anything), its few thousand distinct keys and strings for
    the patterns, and the whole-text pattern pass runs only when one may match. A pattern with a
    ``lead`` (``password=``-like names) is searched by it: each key followed by its ``: ``
    (``"password": "x1y2"`` is one match), each string alone (a ``,`` or a line break follows it).
    """
    with _lock:
        values = _longest_first
    if any(value in text for value in values) or _tokens_may_match(keys, strings):
        return redact(text)
    return text


def _tokens_may_match(keys: Iterable[str], strings: Iterable[str]) -> bool:
    """Whether a pattern of :data:`REDACTION_PATTERNS` may match where one of these tokens is."""
    folded_keys = fold_case("".join(key + ": \n" for key in keys))
    folded_strings = fold_case("\n".join(strings))
    for pattern in REDACTION_PATTERNS:
        if not any(start in folded_keys or start in folded_strings for start in pattern.starts):
            continue
        lead = pattern.lead_regex
        if lead is None or lead.search(folded_keys) or lead.search(folded_strings):
            return True
    return False


_KEYWORD = next(pattern for pattern in REDACTION_PATTERNS if pattern.name == "secret-keyword")
_secret_named: dict[str, bool] = {}  # key -> whether it names a secret (a few hundred distinct keys)


def secret_named(key: str) -> bool:
    """Whether ``key`` names a secret the way ``password=`` does in a text (``DB_PASSWORD``,
    ``client_secret``, ``api_key``): a value under it is masked in data as it is in a text."""
    known = _secret_named.get(key)
    if known is None:
        lead = _KEYWORD.lead_regex
        known = bool(lead is not None and lead.search(fold_case(key) + "="))
        if len(_secret_named) < _CACHE_LIMIT:
            _secret_named[key] = known
    return known


def masked_named(value: str) -> str:
    """A text under a key that :func:`secret_named`: masked whole from three characters on (as a quoted
    value after ``password=`` is in a text), else as :func:`redact` has it. :func:`redact_data`, the
    ledger's rows and the JSON evidence encoder use it, so a literal ``{"DB_PASSWORD": "x1y2 z3"}`` in a
    check's evidence reaches the row and the file masked."""
    return MASK if len(value) >= 3 else redact(value)


def redact_argv(argv: Sequence[str]) -> list[str]:
    return [redact(arg) for arg in argv]


def redact_data(data: Any) -> Any:
    """Redact every string inside a JSON-like structure (dicts, lists, tuples, strings)."""
    return _redact_data(data, {})


_LEAVES = frozenset({int, float, bool, type(None)})


def _redact_item(key: Any, value: Any, done: dict[str, str]) -> Any:
    """A mapping's value, redacted: a text under a secret-naming key by :func:`masked_named`."""
    if value.__class__ is str and key.__class__ is str and secret_named(key):
        return masked_named(value)
    return _redact_data(value, done)


def _redact_data(data: Any, done: dict[str, str]) -> Any:
    """:func:`redact_data`, each distinct string redacted once (``done``); the plain JSON types
    are told by their exact class first, the slower ``isinstance`` tests are left for the rest."""
    cls = data.__class__
    if cls is str:
        masked = done.get(data)
        if masked is None:
            masked = done[data] = redact(data)
        return masked
    if cls is dict:
        return {key: _redact_item(key, value, done) for key, value in data.items()}
    if cls is list or cls is tuple:
        return [_redact_data(item, done) for item in data]
    if cls in _LEAVES:
        return data
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, Mapping):
        return {key: _redact_item(key, value, done) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_redact_data(item, done) for item in data]
    return data


def mask_value(value: str, *, keep: int = 4) -> str:
    """Show only a short prefix of a found secret (for findings that must point at it)."""
    if len(value) <= keep * 2:
        return MASK
    return value[:keep] + MASK


def contains_known_secret(texts: Iterable[str]) -> bool:
    with _lock:
        values = list(_secrets)
    return any(value in text for text in texts for value in values)

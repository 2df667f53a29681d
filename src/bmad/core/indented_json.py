"""Indented JSON, the same text as ``json.dumps(data, indent=2, sort_keys=True, default=str)``, fast.

CPython's C encoder (before 3.14) does no indentation: with ``indent`` set, ``json.dumps`` runs its
pure-Python generator encoder, seconds for the multi-megabyte evidence of a large bundle. This
encoder appends to one list with plain recursion and leaves strings to the C string encoder.

``strings``, when given, maps every string *value* first (not keys, not what ``default`` returns),
and every mapping is encoded as a dict and every tuple as a list: the text of
``json.dumps(redact_data(data), ...)`` in one walk, with ``strings=redact``; ``keyed`` (with it), a
pair of a key predicate and a function, maps a string value under a str key the predicate holds for
instead (``(secret_named, masked_named)``: a literal under ``DB_PASSWORD`` masked whole).

A dict met again in the same encoding (a check's artifact that is also its phase's, a readiness item
in the report and in a category check's evidence) is not walked again: its text is re-indented for its
new depth. ``limit`` stops the encoding once the text is longer than that, for a caller that shows only
its beginning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any

from bmad.core.datatypes import datatype

_INFINITY = float("inf")
# A key predicate and what a string value under a key it holds for is written as (see the module doc).
Keyed = tuple[Callable[[str], bool], Callable[[str], str]]
_by_key = itemgetter(0)


def dumps_indented(
    data: Any, *, strings: Callable[[str], str] | None = None, keyed: Keyed | None = None, limit: int | None = None
) -> str:
    """``json.dumps(data, indent=2, sort_keys=True, default=str)``, with ``strings`` (and ``keyed``)
    applied first.

    With ``limit``, the text may end early: the whole text when it is at most ``limit`` characters
    long, else a beginning of it longer than ``limit``."""
    chunks: list[str] = []
    if limit is None:
        _Encoder(chunks, chunks.append, strings, keyed).value(data, 0)
        return "".join(chunks)
    size = 0

    def append(chunk: str) -> None:
        nonlocal size
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _LongEnough

    with contextlib.suppress(_LongEnough):
        _Encoder(chunks, append, strings, keyed).value(data, 0)
    return "".join(chunks)


@datatype(frozen=True)
class IndentedJson:
    """The text of :func:`dumps_indented` and the tokens it is made of besides its layout (line
    breaks, indents, ``{}[],`` and the ``: `` after each key) and its ``null``, ``true``, ``false``
    and numbers: ``keys``, the text of every distinct key; ``strings``, of every other string."""

    text: str
    keys: tuple[str, ...]
    strings: tuple[str, ...]


def encode_indented(
    data: Any, *, strings: Callable[[str], str] | None = None, keyed: Keyed | None = None
) -> IndentedJson:
    """:func:`dumps_indented` of ``data``, with its tokens (see :class:`IndentedJson`)."""
    chunks: list[str] = []
    encoder = _Encoder(chunks, chunks.append, strings, keyed)
    encoder.value(data, 0)
    return IndentedJson(
        "".join(chunks),
        (*encoder.keys.values(), *encoder.other_keys),
        (*encoder.texts.values(), *encoder.other_texts),
    )


class _LongEnough(Exception):
    """The text is already longer than the caller's ``limit``."""


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float_text(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


class _Encoder:
    """One encoding: where the chunks go, and each distinct string's text, made once."""

    def __init__(
        self,
        chunks: list[str],
        append: Callable[[str], None],
        strings: Callable[[str], str] | None,
        keyed: Keyed | None = None,
    ) -> None:
        self.chunks = chunks
        self.append = append
        self.strings = strings
        self.keyed = keyed
        self.any_mapping = strings is not None  # as redact_data does: every mapping a dict
        self.texts: dict[str, str] = {}
        self.keys: dict[str, str] = {}
        self.other_keys: list[str] = []  # keys that are no strings (their text is not remembered)
        self.other_texts: list[str] = []  # what ``default=str`` gave
        # each dict encoded so far, by id: the dict (so that its id stays its own), its depth and
        # where its text lies in ``chunks``
        self.done: dict[int, tuple[Mapping[Any, Any], int, int, int]] = {}

    def text(self, value: str) -> str:
        strings = self.strings
        done = encode_basestring_ascii(strings(value) if strings is not None else value)
        self.texts[value] = done
        return done

    def key(self, key: str) -> str:
        done = encode_basestring_ascii(key)
        self.keys[key] = done
        return done

    def value(self, value: Any, level: int) -> None:
        if isinstance(value, str):
            self.append(self.texts.get(value) or self.text(value))
        elif isinstance(value, dict) or (self.any_mapping and isinstance(value, Mapping)):
            self.mapping(value, level)
        elif isinstance(value, list | tuple):
            self.sequence(value, level)
        else:
            self.scalar(value)

    def scalar(self, value: Any) -> None:
        """Anything but a string, mapping or sequence; ``default=str`` for what JSON has no type for."""
        if value is None:
            self.append("null")
        elif value is True:
            self.append("true")
        elif value is False:
            self.append("false")
        elif isinstance(value, int):
            self.append(int.__repr__(value))
        elif isinstance(value, float):
            self.append(_float_text(value))
        else:
            text = encode_basestring_ascii(str(value))
            self.other_texts.append(text)
            self.append(text)

    def sequence(self, items: list[Any] | tuple[Any, ...], level: int) -> None:
        if not items:
            self.append("[]")
            return
        append, texts = self.append, self.texts
        inner = "\n" + "  " * (level + 1)
        separator = "[" + inner
        for item in items:
            append(separator)
            separator = "," + inner
            if item.__class__ is str:
                append(texts.get(item) or self.text(item))
            else:
                self.value(item, level + 1)
        append("\n" + "  " * level + "]")

    def mapping(self, mapping: Mapping[Any, Any], level: int) -> None:
        if not mapping:
            self.append("{}")
            return
        done = self.done.get(id(mapping))
        if done is not None:
            self.append(_reindented("".join(self.chunks[done[2] : done[3]]), done[1], level))
            return
        start = len(self.chunks)
        self.items(mapping, level)
        self.done[id(mapping)] = (mapping, level, start, len(self.chunks))

    def items(self, mapping: Mapping[Any, Any], level: int) -> None:
        append, texts, keys = self.append, self.texts, self.keys
        inner = "\n" + "  " * (level + 1)
        separator = "{" + inner
        for key, item in sorted(mapping.items(), key=_by_key):
            append(separator)
            separator = "," + inner
            if key.__class__ is str:
                append(keys.get(key) or self.key(key))
            else:  # not remembered: 1, 1.0 and True are one dict key but three texts
                text = encode_basestring_ascii(_key_text(key))
                self.other_keys.append(text)
                append(text)
            append(": ")
            if item.__class__ is str:
                keyed = self.keyed
                if keyed is not None and key.__class__ is str and keyed[0](key):
                    text = encode_basestring_ascii(keyed[1](item))
                    self.other_texts.append(text)
                    append(text)
                else:
                    append(texts.get(item) or self.text(item))
            else:
                self.value(item, level + 1)
        append("\n" + "  " * level + "}")


def _reindented(text: str, was: int, level: int) -> str:
    """The text of a value encoded at depth ``was``, for depth ``level``: every line break in it is
    one of the layout's (strings are written with ``\\n`` escapes) and is followed by at least
    ``was`` indents."""
    if level > was:
        return text.replace("\n", "\n" + "  " * (level - was))
    if level < was:
        return text.replace("\n" + "  " * (was - level), "\n")
    return text

"""Indented JSON, the same text as ``json.dumps(data, indent=2, sort_keys=True, default=str)``, fast.

CPython's C encoder (before 3.14) does no indentation: with ``indent`` set, ``json.dumps`` runs its
pure-Python generator encoder, seconds for the multi-megabyte evidence of a large bundle. This
encoder appends to one list with plain recursion and leaves strings to the C string encoder.

``strings``, when given, maps every string *value* first (not keys, not what ``default`` returns),
and every mapping is encoded as a dict and every tuple as a list: the text of
``json.dumps(redact_data(data), ...)`` in one walk, with ``strings=redact``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any

_INFINITY = float("inf")
_by_key = itemgetter(0)


def dumps_indented(data: Any, *, strings: Callable[[str], str] | None = None) -> str:
    """``json.dumps(data, indent=2, sort_keys=True, default=str)``, with ``strings`` applied first."""
    chunks: list[str] = []
    _Encoder(chunks.append, strings).value(data, 0)
    return "".join(chunks)


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

    def __init__(self, append: Callable[[str], None], strings: Callable[[str], str] | None) -> None:
        self.append = append
        self.strings = strings
        self.any_mapping = strings is not None  # as redact_data does: every mapping a dict
        self.texts: dict[str, str] = {}
        self.keys: dict[str, str] = {}

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
            self.append(encode_basestring_ascii(str(value)))

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
        append, texts, keys = self.append, self.texts, self.keys
        inner = "\n" + "  " * (level + 1)
        separator = "{" + inner
        for key, item in sorted(mapping.items(), key=_by_key):
            append(separator)
            separator = "," + inner
            if key.__class__ is str:
                append(keys.get(key) or self.key(key))
            else:  # not remembered: 1, 1.0 and True are one dict key but three texts
                append(encode_basestring_ascii(_key_text(key)))
            append(": ")
            if item.__class__ is str:
                append(texts.get(item) or self.text(item))
            else:
                self.value(item, level + 1)
        append("\n" + "  " * level + "}")

"""The YAML text of a phase record without PyYAML: the same bytes as PyYAML's safe dumper.

A record is plain JSON data (dicts with string keys, lists, strings, numbers, booleans, None),
dumped in block style with ``sort_keys=False, allow_unicode=True, width=120``. :func:`dump_record`
writes that text itself, following the rules of PyYAML's emitter (scalar styles, folding at the
width, indentless sequences in mappings), and gives up with :class:`Unsupported` on what it does
not write (a string that needs double quotes, a multi-line or long key, a value of another type):
the caller then dumps with PyYAML. Importing PyYAML and building its node tree cost more than
writing a record (tests/engine/test_record_yaml.py compares both on a large fuzzed corpus).
"""

from __future__ import annotations

import math
import re
from typing import Any

WIDTH = 120  # the width records are dumped at
_INDENT = 2
# Characters that take double quotes (control characters, NEL): not written here; nor are the
# non-ASCII ones of _ODD_NON_ASCII, lone surrogates and characters outside the Basic Multilingual
# Plane (libyaml writes those differently). Small classes: a regex of the printable ranges takes
# ~9 ms to compile.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_ODD_NON_ASCII = ("\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff")
# Plain scalars that YAML 1.1 reads as another type (bool, null, merge, value, the documentation-only
# "yaml" tag; numbers and timestamps below): a string like this is quoted.
_NOT_A_STRING_WORDS = frozenset({
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL", "<<", "=", "!", "&", "*",
})  # fmt: skip
_NUMBER_OR_TIME = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)
    |[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[\ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
     (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.VERBOSE,
)
# What keeps a string from being a plain scalar in block context (besides the above): a leading
# indicator or document marker, a line break, ": " or " #" inside, ":" at the end, a leading or
# trailing space.
_NOT_PLAIN = re.compile(
    r"""^(?:---|\.\.\.|[#,\[\]{}&*!|>'"%@`]|[?:-](?:\ |\Z)|\ )|\n|:(?:\ |\Z)|\ \#|\ \Z""", re.VERBOSE
)
_TOKENS = re.compile(r" +|\n+|'|[^ \n']+")
_SIMPLE_KEY_MAX = 100  # a longer key may be written as a complex key ("? ..."): not written here


class Unsupported(Exception):
    """The data holds something :func:`dump_record` does not write; dump it with PyYAML instead."""


def dump_record(data: dict[str, Any]) -> str:
    """``yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)``, for record data."""
    writer = _Writer()
    writer.node(data, in_mapping=False)
    writer.indent_line()  # the document's end
    return "".join(writer.out)


class _Writer:
    """The emitter's state: column, indentation stack, and whether the last thing written was a
    space or an indentation (PyYAML's ``whitespace`` and ``indention`` flags)."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.indent: int | None = None
        self.whitespace = True
        self.indention = True
        self.plain_ok: dict[str, bool] = {}  # a record repeats its keys and statuses

    # ------------------------------------------------------------------ structure

    def node(self, value: Any, *, in_mapping: bool) -> None:
        cls = value.__class__
        if cls is dict:
            self.mapping(value)
        elif cls is list:
            self.sequence(value, in_mapping=in_mapping)
        elif cls is str:
            self.string(value, simple_key=False)
        else:
            self.scalar(_plain_of(value))

    def mapping(self, value: dict[str, Any]) -> None:
        if not value:
            self.indicator("{", need_space=True, whitespace=True)
            self.indicator("}", need_space=False)
            return
        outer = self.indent
        self.indent = 0 if outer is None else outer + _INDENT
        for key, item in value.items():
            if key.__class__ is not str or len(key) >= _SIMPLE_KEY_MAX or "\n" in key or not key:
                raise Unsupported("a key that is not a short one-line string")
            self.indent_line()
            if self.is_plain(key):  # after a new line: no space before it, and no folding in a key
                self.out.append(key + ":")
                self.column += len(key) + 1
                self.whitespace = self.indention = False
            else:
                self.string(key, simple_key=True)
                self.indicator(":", need_space=False)
            self.node(item, in_mapping=True)
        self.indent = outer

    def sequence(self, value: list[Any], *, in_mapping: bool) -> None:
        if not value:
            self.indicator("[", need_space=True, whitespace=True)
            self.indicator("]", need_space=False)
            return
        outer = self.indent
        indentless = in_mapping and not self.indention
        if outer is None:
            self.indent = 0
        elif not indentless:
            self.indent = outer + _INDENT
        for item in value:
            self.indent_line()
            self.indicator("-", need_space=True, indention=True)
            self.node(item, in_mapping=False)
        self.indent = outer

    # ------------------------------------------------------------------ writing

    def write(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def indicator(self, text: str, *, need_space: bool, whitespace: bool = False, indention: bool = False) -> None:
        self.write(text if self.whitespace or not need_space else " " + text)
        self.whitespace = whitespace
        self.indention = self.indention and indention

    def line_break(self) -> None:
        self.out.append("\n")
        self.column = 0
        self.whitespace = True
        self.indention = True

    def indent_line(self) -> None:
        """A new line at the current indentation unless already there."""
        indent = self.indent or 0
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            self.out.append("\n" + " " * indent)
            self.column = indent
            self.whitespace = self.indention = True
        elif self.column < indent:
            self.whitespace = True
            self.write(" " * (indent - self.column))

    # ------------------------------------------------------------------ scalars

    def scalar(self, text: str) -> None:
        """A plain scalar that needs no folding (a number, a boolean, null)."""
        if not self.whitespace:
            self.write(" ")
        self.write(text)
        self.whitespace = False
        self.indention = False

    def is_plain(self, text: str) -> bool:
        """Whether ``text`` is written as a plain scalar (else single-quoted); Unsupported when it
        takes double quotes."""
        known = self.plain_ok.get(text)
        if known is None:
            if _takes_double_quotes(text) or " \n" in text or "\n " in text:
                raise Unsupported("a string that takes double quotes")
            known = bool(text) and not _NOT_PLAIN.search(text) and not _reads_as_another_type(text)
            self.plain_ok[text] = known
        return known

    def string(self, text: str, *, simple_key: bool) -> None:
        plain = self.is_plain(text)
        if plain and not self.whitespace and self.column + len(text) <= WIDTH:  # no folding
            self.out.append(" " + text)
            self.column += len(text) + 1
            self.whitespace = self.indention = False
            return
        outer = self.indent
        self.indent = _INDENT if outer is None else outer + _INDENT
        if plain:
            self.plain(text, split=not simple_key)
        else:
            self.single_quoted(text, split=not simple_key)
        self.indent = outer

    def plain(self, text: str, *, split: bool) -> None:
        if not self.whitespace:
            self.write(" ")
        self.whitespace = False
        self.indention = False
        if not split or self.column + len(text) <= WIDTH + 1:  # no space can fall past the width
            self.write(text)
            return
        for piece in _TOKENS.findall(text):  # one line: no breaks; quotes are plain text here
            if piece == " " and self.column > WIDTH:
                self.indent_line()
                self.whitespace = False
                self.indention = False
            else:
                self.write(piece)

    def single_quoted(self, text: str, *, split: bool) -> None:
        self.indicator("'", need_space=True)
        at = 0
        for piece in _TOKENS.findall(text):
            end = at + len(piece)
            first = piece[0]
            if first == " ":
                if len(piece) == 1 and self.column > WIDTH and split and at != 0 and end != len(text):
                    self.indent_line()
                else:
                    self.write(piece)
            elif first == "\n":
                self.line_break()  # a break is written doubled: one alone would fold into a space
                for _ in piece:
                    self.line_break()
                self.indent_line()
            elif first == "'":
                self.write("''")
            else:
                self.write(piece)
            at = end
        self.indicator("'", need_space=False)


def _plain_of(value: Any) -> str:
    """The plain text of a number, a boolean or None, as PyYAML's safe representer writes it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value.__class__ is int:
        return str(value)
    if value.__class__ is float:
        if value != value:
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e", 1)
        if _NUMBER_OR_TIME.match(text):  # read back as a float: written plain
            return text
    raise Unsupported(f"a value of type {type(value).__name__}")


def _takes_double_quotes(text: str) -> bool:
    """Whether ``text`` holds a character that :func:`dump_record` does not write (see _CONTROL)."""
    if _CONTROL.search(text):
        return True
    if text.isascii():
        return False
    if max(text) > "\uffff" or any(odd in text for odd in _ODD_NON_ASCII):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def _reads_as_another_type(text: str) -> bool:
    """Whether YAML reads ``text`` (one line, not empty) written plain as something else than a string."""
    if text in _NOT_A_STRING_WORDS:
        return True
    return text[0] in "-+.0123456789" and _NUMBER_OR_TIME.match(text) is not None

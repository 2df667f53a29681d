"""bmad's own terminal text: styled pieces, word wrapping at the terminal's width, aligned tables.

Every piece of text is written with its control characters escaped (:func:`terminal_safe`).
Styles become ANSI codes only when the stream is a terminal: ``NO_COLOR`` (non-empty) drops the
colours but keeps bold, dim and italic, ``FORCE_COLOR`` (non-empty) treats a pipe as a terminal
(a CI log: styled, 80 columns), and ``TERM=dumb`` styles nothing. The width is ``COLUMNS`` when
set, else the terminal's, else 160 (pipes and log files: do not squeeze tables into 80 columns).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import NamedTuple, TextIO

# The value types are NamedTuples, not dataclasses: a frozen dataclass costs about a millisecond to
# define, and this module is imported by every command that prints.

# C0 controls but newline and tab, DEL, and C1 controls (0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WORD = re.compile(r"\s*\S+\s*")
_CODES = {
    "bold": "1",
    "dim": "2",
    "italic": "3",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "magenta": "35",
    "cyan": "36",
}
_COLOURS = frozenset({"red", "green", "yellow", "magenta", "cyan"})
PIPE_WIDTH = 160


def terminal_safe(text: str) -> str:
    """``text`` with every control character but newline and tab written as ``\\xNN``."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


# The characters outside ASCII that bmad's own output uses (rules, marks, dashes, units), each one
# column: a text of these and ASCII is measured without unicodedata (~1 ms to import).
ONE_COLUMN = frozenset(map(chr, range(128))) | frozenset("─━│┃┌┐└┘├┤┬┴┼┏┓┡┩┳╇—–−µ×·…≥≤≈→•✓✗")


def cell_len(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide East Asian characters two, combining marks none."""
    if text.isascii() or ONE_COLUMN.issuperset(text):
        return len(text)
    import unicodedata

    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text
    )


class Piece(NamedTuple):
    """Text with one style (``"bold"``, ``"red"``, ``"bold red"``; ``""`` for none)."""

    text: str
    style: str = ""


Part = str | Piece


class Span(NamedTuple):
    start: int
    end: int
    style: str


class Styled(NamedTuple):
    """Plain text (control characters already escaped) and the styled ranges in it."""

    text: str
    spans: tuple[Span, ...] = ()

    @classmethod
    def of(cls, *parts: Part) -> Styled:
        text, spans = "", []
        for part in parts:
            piece = part if isinstance(part, Piece) else Piece(part)
            safe = terminal_safe(piece.text)
            if piece.style and safe:
                spans.append(Span(len(text), len(text) + len(safe), piece.style))
            text += safe
        return cls(text, tuple(spans))

    def slice(self, start: int, end: int) -> Styled:
        spans = tuple(
            Span(max(s.start, start) - start, min(s.end, end) - start, s.style)
            for s in self.spans
            if s.start < end and s.end > start
        )
        return Styled(self.text[start:end], spans)

    def lines(self, width: int | None) -> list[Styled]:
        """Split at newlines, each line word-wrapped at ``width`` columns (``None``: no wrapping)."""
        out: list[Styled] = []
        offset = 0
        for line in self.text.split("\n"):
            ranges = wrap(line, width) if width is not None else [(0, len(line))]
            out += [self.slice(offset + start, offset + end) for start, end in ranges]
            offset += len(line) + 1
        return out

    def render(self, palette: Palette) -> str:
        """The text with its trailing blanks removed and ANSI codes around styled ranges."""
        text = self.text.rstrip()
        if not palette.enabled:
            return text
        out, at = [], 0
        for span in self.spans:
            codes = palette.codes(span.style)
            if span.start >= len(text) or not codes:
                continue
            out += [text[at : span.start], f"\x1b[{codes}m{text[span.start : span.end]}\x1b[0m"]
            at = min(span.end, len(text))
        return "".join(out) + text[at:]


def wrap(line: str, width: int) -> list[tuple[int, int]]:
    """Ranges of ``line`` (no newline in it) for lines of at most ``width`` columns: breaks between
    words, a word wider than a line starts a line of its own and is cut every ``width`` columns."""
    width = max(width, 1)
    starts: list[int] = [0]
    used = 0
    for match in _WORD.finditer(line):
        start, word = match.start(), match.group()
        needed = cell_len(word.rstrip())
        if needed <= width - used:
            used += cell_len(word)
        elif needed > width:
            if start:
                starts.append(start)
            stripped = word.rstrip()
            for chunk_start, chunk in _chunks(stripped, start, width):
                if chunk_start != start:
                    starts.append(chunk_start)
                used = cell_len(chunk) + len(word) - len(stripped)
        elif used and start:
            starts.append(start)
            used = cell_len(word)
    ends = [*starts[1:], len(line)]
    return list(zip(starts, ends, strict=True))


def _chunks(word: str, offset: int, width: int) -> Iterator[tuple[int, str]]:
    """``word`` cut into pieces of at most ``width`` columns, each with its start in the line."""
    start, used = 0, 0
    for index, char in enumerate(word):
        size = cell_len(char)
        if used + size > width and index > start:
            yield offset + start, word[start:index]
            start, used = index, 0
        used += size
    yield offset + start, word[start:]


class Palette(NamedTuple):
    """Whether styles are written, and whether colours are among them."""

    enabled: bool
    colours: bool = True

    def codes(self, style: str) -> str:
        names = [name for name in style.split() if self.colours or name not in _COLOURS]
        return ";".join(_CODES[name] for name in names if name in _CODES)

    @classmethod
    def for_stream(cls, stream: TextIO) -> Palette:
        environ = os.environ
        if environ.get("TERM", "").lower() in ("dumb", "unknown"):
            return cls(False)
        return cls(is_terminal(stream), colours=not environ.get("NO_COLOR"))


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is laid out and styled for a terminal: it is one, or ``FORCE_COLOR`` is set."""
    return bool(os.environ.get("FORCE_COLOR")) or isatty(stream)


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def width_for(stream: TextIO) -> int:
    """``COLUMNS`` when set, else the terminal's width, else :data:`PIPE_WIDTH`."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if not is_terminal(stream):
        return PIPE_WIDTH
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class Column(NamedTuple):
    header: str
    wrap: bool = False
    right: bool = False


class Table:
    """Rows of styled cells under headers (and a title above); :meth:`Printer.table` lays it out."""

    def __init__(self, columns: Sequence[Column], title: str = "", *, boxed: bool = False) -> None:
        self.columns = columns
        self.title = title
        self.boxed = boxed
        self.rows: list[list[Styled]] = []

    def add_row(self, *cells: Part | Styled) -> None:
        self.rows.append([cell if isinstance(cell, Styled) else Styled.of(cell) for cell in cells])


class Printer:
    """Writes styled lines to stdout or stderr (looked up at each write, so redirections apply)."""

    def __init__(self, *, err: bool = False) -> None:
        self.err = err
        self.palette = Palette.for_stream(self.stream)
        self.width = width_for(self.stream)

    @property
    def stream(self) -> TextIO:
        return sys.stderr if self.err else sys.stdout

    @property
    def is_terminal(self) -> bool:
        return is_terminal(self.stream)

    def print(self, *parts: Part) -> None:
        """One line (wrapped at the width; ``\\n`` in it starts a new line)."""
        self.write_lines(line.render(self.palette) for line in Styled.of(*parts).lines(self.width))

    def table(self, table: Table) -> None:
        from bmad.cli._table import table_lines

        self.write_lines(table_lines(table, self.width, self.palette))

    def write_lines(self, lines: Iterator[str] | Sequence[str]) -> None:
        stream = self.stream
        stream.write("".join(f"{line}\n" for line in lines))
        stream.flush()

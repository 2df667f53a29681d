"""Lay out a :class:`bmad.cli._text.Table` as lines of text.

Column widths come from the content; when the table is wider than the line, the wrapping columns
give up columns, widest first (as Rich shared the cut), and their cells wrap between words. Columns that do not
wrap keep every cell whole (a line wider than the terminal wraps on the terminal, never cut).
A plain table separates its columns with two spaces; a boxed one is drawn with a heavy head.
"""

from __future__ import annotations

from collections.abc import Sequence

from bmad.cli._text import Column, Palette, Piece, Styled, Table, cell_len

_PLAIN_GAP = 2


def table_lines(table: Table, width: int, palette: Palette) -> list[str]:
    """The table's lines for a line of ``width`` columns."""
    header = [Styled.of(Piece(column.header, "bold")) for column in table.columns]
    widths = _natural_widths(header, table.rows)
    spare = width - _table_width(widths, boxed=table.boxed)
    if spare < 0:
        widths = _shrink(widths, table.columns, -spare)
    lines = [Styled.of(Piece(table.title, "italic")).render(palette)] if table.title else []
    if table.boxed:
        return lines + _boxed(table, header, widths, palette)
    for row in (header, *table.rows):
        lines += _row_lines(row, table, widths, palette)
    return lines


def _natural_widths(header: Sequence[Styled], rows: Sequence[Sequence[Styled]]) -> list[int]:
    return [
        max(_longest_line(cell) for cell in (header[index], *(row[index] for row in rows)))
        for index in range(len(header))
    ]


def _longest_line(cell: Styled) -> int:
    return max(cell_len(line.rstrip()) for line in cell.text.split("\n"))


def _table_width(widths: Sequence[int], *, boxed: bool) -> int:
    if boxed:  # "│ cell │ cell │"
        return sum(widths) + 3 * len(widths) + 1
    return sum(widths) + _PLAIN_GAP * (len(widths) - 1)


def _shrink(widths: list[int], columns: Sequence[Column], excess: int) -> list[int]:
    """Take ``excess`` columns from the wrapping columns, widest first: the widest ones share the cut
    down to the width of the next widest, and so on (none below one column)."""
    widths = list(widths)
    wrapping = [index for index, column in enumerate(columns) if column.wrap]
    while excess > 0 and wrapping:
        widest = max(widths[index] for index in wrapping)
        narrower = max((widths[index] for index in wrapping if widths[index] < widest), default=1)
        at_widest = [index for index in wrapping if widths[index] == widest]
        most = min(excess, widest - max(narrower, 1))
        if most <= 0:
            break
        for left, index in enumerate(at_widest):
            cut = min(most, round(excess / (len(at_widest) - left)))
            widths[index] -= cut
            excess -= cut
    return widths


def _row_lines(
    cells: Sequence[Styled], table: Table, widths: Sequence[int], palette: Palette, edge: str = ""
) -> list[str]:
    """One row's lines: cells padded to their column, between edges (boxed) or two spaces (plain)."""
    layout = list(zip(widths, table.columns, strict=True))
    gap = f" {edge} " if edge else " " * _PLAIN_GAP
    lines = []
    for row in _cell_grid(cells, table.columns, widths):
        line = gap.join(_pad(cell, width, column, palette) for cell, (width, column) in zip(row, layout, strict=True))
        lines.append(f"{edge} {line} {edge}" if edge else line.rstrip())
    return lines


def _boxed(table: Table, header: Sequence[Styled], widths: Sequence[int], palette: Palette) -> list[str]:
    def rule(left: str, fill: str, middle: str, right: str) -> str:
        return left + middle.join(fill * (width + 2) for width in widths) + right

    lines = [rule("┏", "━", "┳", "┓"), *_row_lines(header, table, widths, palette, "┃"), rule("┡", "━", "╇", "┩")]
    for row in table.rows:
        lines += _row_lines(row, table, widths, palette, "│")
    return [*lines, rule("└", "─", "┴", "┘")]


def _cell_grid(cells: Sequence[Styled], columns: Sequence[Column], widths: Sequence[int]) -> list[list[Styled]]:
    """The row's cells split into lines (wrapping columns wrapped), every cell as tall as the tallest."""
    split = [
        cell.lines(width if column.wrap else None) for cell, column, width in zip(cells, columns, widths, strict=True)
    ]
    height = max(len(lines) for lines in split)
    return [[lines[index] if index < len(lines) else Styled("") for lines in split] for index in range(height)]


def _pad(line: Styled, width: int, column: Column, palette: Palette) -> str:
    text = line.render(palette)
    gap = " " * max(width - cell_len(line.text.rstrip()), 0)
    return gap + text if column.right else text + gap

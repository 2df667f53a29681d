"""bmad's own terminal text (``bmad.cli._text``, ``bmad.cli._table``): wrapping, wide characters,
control characters, styles only on a terminal, ``NO_COLOR``, and a phase laid out as Rich did."""

from __future__ import annotations

import io
import os
import pty
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime, timedelta

import pytest

from bmad.cli._render import render_phase
from bmad.cli._text import PIPE_WIDTH, Column, Piece, Printer, Table, cell_len, wrap
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus
from bmad.engine.outcomes import PhaseOutcome

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# What Rich 15 printed for this phase at COLUMNS=100, before bmad had a renderer of its own
# (trailing blanks removed): same words, order, columns and wrapping.
PHASE_AT_100 = """\
ANALYZE failed  (14.2s; 1 pass, 1 warn, 1 fail, 1 skip)  forced: hotfix [bold]now[/bold]
status                 check               what                                                 time
fail                   analyze.manifests   Manifests \\x1b[2Jvalid                             12.00s
                                           3 problems in
                                           default/Deployment/a-very-long-name-that-cannot-b
                                           e-broken-between-words-at-all
                                             expected: every object validates against the
                                           schema of its kind
                                             observed: 三つの問題 (three problems) found in
                                           the bundle
                                             fix: fix the objects named above and run again
                                             evidence: analyze/manifests.json,
                                           analyze/manifests.sarif
skip                   analyze.secrets     Secrets configured                                  0.00s
                                           skipped: no secrets
                       image
pass                   analyze.image.size  Image small enough                                  0.25s
warn (counts as fail)  analyze.image.base  Base image pinned                                   1.50s
                                           the base image is unpinned
                                             expected: a digest
                                             observed: nginx:latest
                                             fix: pin it by digest
  ANALYZE failed (analyze.manifests); the run stopped at ANALYZE
  metrics: readiness=51.0  valid=False
  evidence: runs/hello/dev/0123456789ab/analyze-1
  record not committed: git: the records branch is locked

"""


@pytest.fixture(autouse=True)
def _no_style_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from a terminal-capable TERM and no COLUMNS, NO_COLOR or FORCE_COLOR."""
    for name in ("COLUMNS", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")


def _phase() -> PhaseOutcome:
    checks = [
        CheckResult("analyze.image.size", "Image small enough", CheckStatus.PASS, summary="x", duration_seconds=0.25),
        CheckResult(
            "analyze.image.base",
            "Base image pinned",
            CheckStatus.WARN,
            summary="the base image is unpinned",
            expected="a digest",
            observed="nginx:latest",
            fix="pin it by digest",
            duration_seconds=1.5,
        ),
        CheckResult(
            "analyze.manifests",
            "Manifests \x1b[2Jvalid",
            CheckStatus.FAIL,
            summary="3 problems in default/Deployment/a-very-long-name-that-cannot-be-broken-between-words-at-all",
            expected="every object validates against the schema of its kind",
            observed="三つの問題 (three problems) found in the bundle",
            fix="fix the objects named above and run again",
            evidence_files=("analyze/manifests.json", "analyze/manifests.sarif"),
            duration_seconds=12.0,
        ),
        CheckResult("analyze.secrets", "Secrets configured", CheckStatus.SKIP, summary="skipped: no secrets"),
    ]
    result = PhaseResult(
        PhaseName.ANALYZE,
        PhaseStatus.FAILED,
        checks=checks,
        metrics={"readiness": 51.0, "valid": False},
        started_at=T0,
        finished_at=T0 + timedelta(seconds=14.2),
        forced_reason="hotfix [bold]now[/bold]",
        message="ANALYZE failed (analyze.manifests); the run stopped at ANALYZE",
    )
    return PhaseOutcome(
        result=result,
        attempt=1,
        warnings_fail=True,
        evidence_dir="runs/hello/dev/0123456789ab/analyze-1",
        record_error="git: the records branch is locked",
    )


def _printed(write: Callable[[Printer], object], *, columns: int | None = None) -> str:
    """What ``write`` prints on stdout (a pipe, not a terminal)."""
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        out = Printer()
        if columns is not None:
            out.width = columns
        write(out)
    return buffer.getvalue()


def test_a_phase_is_laid_out_as_rich_laid_it_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards issue 13's render goal: the own renderer prints what Rich printed (columns, words,
    order, detail lines' indentation, wrapping of the "what" column, escaped control characters)."""
    monkeypatch.setenv("COLUMNS", "100")
    assert _printed(lambda out: render_phase(out, _phase())) == PHASE_AT_100


def test_wrap_breaks_between_words_and_cuts_only_a_word_wider_than_the_line() -> None:
    line = "one two three abcdefghijklmnopqrstuvwxyz four"
    pieces = [line[start:end].rstrip() for start, end in wrap(line, 10)]
    assert pieces == ["one two", "three", "abcdefghij", "klmnopqrst", "uvwxyz", "four"]
    assert wrap("", 10) == [(0, 0)]
    detail = "  indented detail line"
    assert [detail[a:b] for a, b in wrap(detail, 12)] == ["  indented ", "detail line"]


def test_wide_characters_take_two_columns_in_wrapping_and_alignment() -> None:
    assert cell_len("三つ") == 4 and cell_len("e\u0301") == 1 and cell_len("abc") == 3
    assert ["三つの問題 ab"[a:b].rstrip() for a, b in wrap("三つの問題 ab", 6)] == ["三つの", "問題", "ab"]
    table = Table([Column("name"), Column("n", right=True)])
    table.add_row("三つ", "1")
    table.add_row("abcdef", "22")
    assert _printed(lambda out: out.table(table)).splitlines() == ["name     n", "三つ     1", "abcdef  22"]


def test_a_table_shrinks_its_wrapping_column_and_keeps_the_others_whole() -> None:
    table = Table([Column("id"), Column("what", wrap=True), Column("time", right=True)])
    table.add_row("check.one", "a fairly long description of what was checked", "0.10s")
    lines = _printed(lambda out: out.table(table), columns=30).splitlines()
    assert lines == [
        "id         what           time",
        "check.one  a fairly      0.10s",
        "           long",
        "           description",
        "           of what was",
        "           checked",
    ]
    assert max(len(line) for line in lines) <= 30


def test_control_characters_are_escaped_in_lines_and_cells() -> None:
    table = Table([Column("cell")])
    table.add_row(Piece("\x1b]0;title\x07", "bold"))
    text = _printed(lambda out: (out.print("a\x1b[2Jb\x9b", Piece("\x00", "red")), out.table(table)))
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\x00" not in text
    assert "a\\x1b[2Jb\\x9b\\x00" in text and "\\x1b]0;title\\x07" in text


def test_no_styles_and_a_wide_line_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _printed(lambda out: (out.print(Piece("passed", "green"), " ", Piece("x" * 150, "bold")), None))
    assert text == "passed " + "x" * 150 + "\n"
    assert Printer().width == PIPE_WIDTH
    monkeypatch.setenv("COLUMNS", "42")
    assert Printer().width == 42


def test_force_color_styles_a_pipe_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI log with ``FORCE_COLOR`` is laid out as Rich laid it out: styled, 80 columns."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert _printed(lambda out: out.print(Piece("failed", "red"))) == "\x1b[31mfailed\x1b[0m\n"
    assert Printer().width == 80


@contextmanager
def _terminal() -> Iterator[tuple[int, io.TextIOWrapper]]:
    """A real pseudo-terminal: what is written to the stream is read back from ``master``."""
    master, slave = pty.openpty()
    with open(slave, "w", encoding="utf-8") as stream:
        try:
            yield master, stream
        finally:
            os.close(master)


def _on_terminal(*parts: str | Piece) -> str:
    with _terminal() as (master, stream), redirect_stdout(stream):
        Printer().print(*parts)
        return os.read(master, 4096).decode()


def test_styles_on_a_terminal_and_no_colours_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _on_terminal(Piece("bold", "bold"), " ", Piece("red", "red")) == "\x1b[1mbold\x1b[0m \x1b[31mred\x1b[0m\r\n"
    monkeypatch.setenv("NO_COLOR", "1")  # no-color.org: colours off, bold and dim stay (as Rich did)
    assert _on_terminal(Piece("bold", "bold"), " ", Piece("red", "red")) == "\x1b[1mbold\x1b[0m red\r\n"
    monkeypatch.setenv("TERM", "dumb")
    assert _on_terminal(Piece("bold", "bold")) == "bold\r\n"


def test_a_boxed_table_has_a_heavy_head_and_its_title_above() -> None:
    table = Table([Column("Metric", wrap=True), Column("Met", wrap=True)], "Framework Metrics", boxed=True)
    table.add_row(Piece("MTTR", "bold"), Piece("✓", "green"))
    assert _printed(lambda out: out.table(table)).splitlines() == [
        "Framework Metrics",
        "┏━━━━━━━━┳━━━━━┓",
        "┃ Metric ┃ Met ┃",
        "┡━━━━━━━━╇━━━━━┩",
        "│ MTTR   │ ✓   │",
        "└────────┴─────┘",
    ]


def test_the_characters_measured_without_unicodedata_take_one_column_each() -> None:
    """Guards the shortcut of ``cell_len``: each character of ONE_COLUMN is neither wide nor combining,
    and a text holding another character outside ASCII is still measured by unicodedata."""
    import unicodedata

    from bmad.cli._text import ONE_COLUMN, cell_len

    for char in ONE_COLUMN:
        assert unicodedata.east_asian_width(char) not in "WF" and not unicodedata.combining(char), repr(char)
    assert cell_len("✓ ready — 3 × 2 ≥ 1 ─┼─") == 23
    assert cell_len("✓ 中文") == 6 and cell_len("e\u0301✓") == 2

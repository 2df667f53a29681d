"""bmad's own writer of phase records (:mod:`bmad.engine.record_yaml`) gives PyYAML's exact text."""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest
import yaml

from bmad.engine.record_yaml import Unsupported, dump_record
from tests.engine.test_phase_imports import _loaded_after

# Words and separators that reach every rule of the emitter: indicators, quotes, ": " and " #",
# strings YAML reads as other types, long words and long lines (folding), line breaks, non-ASCII.
WORDS = [
    "a", "ab", "word", "longerword", "x" * 30, "y" * 130, "it's", "'q'", "k: v", "#", "a#b", "x:", "é—✓", "-",
    "- x", "1.5", "true", "''", "[1]", "{}", "?", "%", "---", "...", "null", "~", "2026-01-01", "0x1F", "<<", "=",
    "yes", "1:30", "0o7", "&a", "*b", "!t", "|", ">", "@", "`", '"', ",", "-1", ".5", ".inf",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "", "\n", "\n\n"]
ODD = [
    "\t",
    "\x85",
    "\u2028",
    "\ufeff",
    "\U0001f600",
    " \n",
    "\n ",
    "\x00",
    "\x7f",
]  # double quotes, or libyaml differs
NUMBERS = [0, -7, 10**20, 0.0, -1.5, 1e16, 1e-7, 3.14159, float("inf"), -float("inf"), 12345.678, True, False, None]


def _text(rng: random.Random, odd: bool) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(0, 40)):
        parts += [rng.choice(WORDS), rng.choice(SEPARATORS)]
        if odd and rng.random() < 0.05:
            parts.append(rng.choice(ODD))
    return "".join(parts)


def _value(rng: random.Random, depth: int, odd: bool) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return _text(rng, odd) if rng.random() < 0.8 else rng.choice(NUMBERS)
    if roll < 0.75:
        return [_value(rng, depth + 1, odd) for _ in range(rng.randint(0, 3))]
    keys = ["id", "summary", "a b", "x-y", "k'q", "true", "1", "é", "-", ": x", "", "k\nv", "z" * 99, "z" * 124]
    return {rng.choice(keys) + rng.choice(["", "2"]): _value(rng, depth + 1, odd) for _ in range(rng.randint(0, 3))}


def _pyyaml(data: Any, dumper: type[yaml.SafeDumper]) -> str:
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)


@pytest.mark.parametrize("odd", [False, True])
def test_the_record_writer_gives_pyyamls_text_on_a_fuzzed_corpus(odd: bool) -> None:
    """Guards the phase record's bytes (the ledger holds its hash): on 3,000 fuzzed records the
    writer gives exactly the text of PyYAML's dumpers (libyaml's and the pure-Python one) or says it
    does not write it; most records are written."""
    rng = random.Random(13 if odd else 12)
    dumpers = [yaml.SafeDumper, *([yaml.CSafeDumper] if hasattr(yaml, "CSafeDumper") else [])]
    written = 0
    for _ in range(1500):
        data = {
            "service": "hello",
            "k": _value(rng, 0, odd),
            "results": [_value(rng, 1, odd), {"x": _value(rng, 2, odd)}],
        }
        try:
            text = dump_record(data)
        except Unsupported:
            continue
        written += 1
        for dumper in dumpers:
            assert text == _pyyaml(data, dumper), (data, dumper)
    assert written > (100 if odd else 800)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain words",
        "x" * 200,
        ("word " * 60).strip(),
        "it's: 'quoted'\nsecond line\n\nthird ",
        "- item",
        "#hash",
        "a #b",
        "trailing:",
        "true",
        "123",
        "0755",
        "2026-03-01",
        "2026-3-1 12:00:00",
        "1_000",
        ".nan",
        "é — ✓ ü",
        "\nleading break",
        [],
        {},
        [[], {}, [1, [2, {"a": [3]}]]],
        {"nested": {"deeper": ["x", {"y": None}]}, "n": -0.0},
        1e300,
    ],
)
def test_the_record_writer_gives_pyyamls_text_on_edge_values(value: Any) -> None:
    """Guards the phase record's bytes on the cases each rule of the emitter is for."""
    data = {
        "key": value,
        "list": [copy.deepcopy(value), {"inner key": copy.deepcopy(value)}],
        "'k': x": [copy.deepcopy(value)],
    }
    assert dump_record(data) == _pyyaml(data, yaml.SafeDumper)


@pytest.mark.parametrize(
    "data", [{"k": "tab\there"}, {"k": "nel\x85"}, {"k": "\U0001f600"}, {"k\nx": 1}, {"": 1}, {"k": (1, 2)}, {1: 2}]
)
def test_the_record_writer_leaves_what_it_does_not_write_to_pyyaml(data: dict[Any, Any]) -> None:
    """Guards the fall-back: double-quoted strings, characters libyaml writes differently, complex
    keys and other types are refused, not written wrongly."""
    with pytest.raises(Unsupported):
        dump_record(data)


def test_recording_a_phase_does_not_import_pyyaml() -> None:
    """Guards the fixed cost of a phase: PyYAML (~15 ms to import, its representer ~20 ms on the
    example's ANALYZE record) loaded for every phase record."""
    probe = (
        "from datetime import UTC, datetime\n"
        "from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release\n"
        "from bmad.engine.records import render_record\n"
        "t = datetime(2026, 3, 1, tzinfo=UTC)\n"
        "check = CheckResult('measure.x', 'X — ✓', CheckStatus.PASS, summary='word ' * 40, observed='a: b')\n"
        "result = PhaseResult(PhaseName.MEASURE, PhaseStatus.PASSED, [check], started_at=t, finished_at=t)\n"
        "render_record(Release('hello', 'dev', 'a' * 40), result, attempt=1, evidence_dir='e', ledger_hash='f')"
    )
    assert "yaml" not in _loaded_after(probe)


def test_the_characters_left_to_pyyaml_are_those_it_double_quotes_or_libyaml_writes_differently() -> None:
    """Guards the writer's character test (small regexes, not a class of the printable ranges that
    takes ~9 ms to compile) against PyYAML's rule, on every code point."""
    from bmad.engine.record_yaml import _takes_double_quotes

    printable = re.compile("[\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
    bmp = [chr(code) for code in range(0x10000)]
    assert not _takes_double_quotes("".join(char for char in bmp if printable.fullmatch(char)))
    outside = [char for char in bmp if not printable.fullmatch(char)]
    outside += [chr(code) for code in range(0x10000, 0x110000, 257)] + ["\U0010ffff"]
    for char in outside:
        assert _takes_double_quotes(char) and _takes_double_quotes("é" + char), hex(ord(char))


def test_strings_read_as_another_type_are_those_pyyamls_resolver_reads_so() -> None:
    """Guards the quoting of strings like ``true``, ``0755`` or ``2026-03-01`` (they would load back
    as another type) against PyYAML's resolver."""
    from bmad.engine.record_yaml import _reads_as_another_type

    resolver = yaml.resolver.Resolver()
    rng = random.Random(5)
    alphabet = "0123456789_.:-+eExXbBoO TtZzainfINFNA~<=!&*yesnoYESNOtrueflsTRUEFLS"
    samples = [w for w in WORDS if w] + ["1:30:00.5", "+.inf", "-.INF", ".NaN", "1e5", "1.0e+5", "0b101", "0x_F"]
    samples += ["2026-1-2 3:04:05.6 +01:00", "2026-01-02T03:04:05Z", "2026-01-02t03:04:05", "on", "Off", "NULL"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(20000)]
    for text in samples:
        if "\n" in text:
            continue
        expected = resolver.resolve(yaml.ScalarNode, text, (True, False)) != "tag:yaml.org,2002:str"
        assert _reads_as_another_type(text) is expected, text

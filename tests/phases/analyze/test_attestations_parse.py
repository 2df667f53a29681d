"""The attestations file is parsed once, by libyaml where present, with the same errors as before."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from bmad.core.errors import ConfigError
from bmad.phases.analyze.attestations import load_attestations


def _entries(count: int) -> str:
    rows = [f"  - item: SC-{i:03d}\n    who: alice@example.org\n    when: 2026-11-20\n" for i in range(count)]
    return "attestations:\n" + "".join(rows)


def _best_of(repeats: int, action: object) -> float:
    assert callable(action)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def test_loading_costs_about_one_libyaml_parse(tmp_path: Path) -> None:
    """Guards ANALYZE's fixed cost: the file was composed and then loaded again, both times by
    the pure-Python parser (~25x libyaml's time); the ratio to one libyaml parse stays small."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        pytest.skip("PyYAML without libyaml")
    path = tmp_path / "attestations.yaml"
    path.write_text(_entries(300), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert len(load_attestations(path).entries) == 300
    ours = _best_of(5, lambda: load_attestations(path))
    libyaml = _best_of(5, lambda: yaml.load(text, Loader=loader))
    assert ours < 5 * libyaml, (ours, libyaml)


def test_lines_and_the_parsers_own_error_words_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text(_entries(2) + "  - {item: IS-027, who: bob, when: 2026-10-01}\n", encoding="utf-8")
    assert [entry.line for entry in load_attestations(path).entries] == [2, 5, 8]
    path.write_text("attestations:\n  - item: a\n    who: b: c\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping values are not allowed here") as error:
        load_attestations(path)
    assert error.value.line == 3

"""The catalog's entries come from a cache of the first full validation, keyed by the data files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bmad.phases.analyze.catalog import CatalogError, loaded_checks
from bmad.phases.analyze.catalog.compiled import cache_file, compiled_entries
from bmad.phases.analyze.catalog.data import data_texts
from bmad.phases.analyze.readiness_data import Category

SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def _imports_in_fresh_python(code: str, cache: Path) -> list[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(SRC)}
    probe = f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    modules: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return modules


def test_a_run_after_the_first_reads_the_entries_without_the_validating_loader(cache_home: Path) -> None:
    """Guards the fixed cost of ANALYZE: the pydantic schema and YAML parse of the catalog ran on every run."""
    code = "from bmad.phases.analyze.catalog import catalog; catalog()"
    first = _imports_in_fresh_python(code, cache_home)
    assert "bmad.phases.analyze.catalog.loader" in first  # no cache yet: validated in full
    second = _imports_in_fresh_python(code, cache_home)
    assert "bmad.phases.analyze.catalog.loader" not in second
    assert "bmad.phases.analyze.catalog.schema" not in second


def test_cached_entries_equal_the_validated_ones(cache_home: Path) -> None:
    validated = tuple(check.entry for check in loaded_checks())
    assert compiled_entries() == validated  # a miss: validates and writes the cache
    assert cache_file().stat().st_mode & 0o777 == 0o600
    assert compiled_entries() == validated  # a hit


def test_a_malformed_data_file_is_still_an_error_after_the_cache_was_written(cache_home: Path) -> None:
    compiled_entries()
    texts = data_texts()
    texts[Category.TESTING] = texts[Category.TESTING].replace("severity: ", "severity: urgent-", 1)
    with pytest.raises(CatalogError, match=r"^testing\.yaml:\d+: 0\.severity"):
        compiled_entries(texts)


def test_a_cache_others_can_write_is_ignored(cache_home: Path) -> None:
    compiled_entries()
    path = cache_file()
    data = json.loads(path.read_text(encoding="utf-8"))
    data["entries"][0]["title"] = "planted"
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o666)
    assert compiled_entries()[0].title != "planted"

"""The console script's regex cache: a pattern defined in a module is compiled once per machine, a
pattern built from data is never written, and what comes back from the file behaves as ``re`` made it.

Each case runs in a fresh interpreter (the cache patches ``re`` for the whole process, which a test
runner must not see)."""

from __future__ import annotations

import json
import marshal
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# A module and a class define patterns (kept); a function builds one from data (never kept).
PROGRAM = r"""
import json, re, sys, types
from pathlib import Path
from bmad.core import regex_cache

regex_cache.install(Path(sys.argv[1]))
source = r'''
import re
GREETING = re.compile(r"(?P<word>h[aeiou]llo)\s+(\w+)", re.IGNORECASE)
class Holder:
    BYTES = re.compile(rb"[\x00-\x1f]+")
'''
module = types.ModuleType("defined_here")
exec(compile(source, "defined_here.py", "exec"), module.__dict__)

def from_data(value):
    return re.compile(re.escape(value) + "-[0-9]+")

built = from_data(sys.argv[2])
g = module.GREETING
out = {
    "stats": regex_cache.stats(),
    "greeting": [g.pattern, g.flags, g.groups, dict(g.groupindex), g.match("HELLO  world").groups()],
    "bytes": [module.Holder.BYTES.pattern.decode(), module.Holder.BYTES.sub(b"|", b"a\x01\x02b").decode()],
    "built": bool(built.match(sys.argv[2] + "-12")),
}
regex_cache.save()
print(json.dumps(out))
"""


def run_program(cache: Path, secret: str = "s3cr3t-value") -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(cache), secret], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    return folder / "regex.marshal"


def test_patterns_defined_in_source_come_back_from_the_file_unchanged(cache: Path) -> None:
    first = run_program(cache)
    assert cache.exists() and cache.stat().st_mode & 0o777 == 0o600
    second = run_program(cache)
    hits_first, hits_second = first["stats"][0], second["stats"][0]  # type: ignore[index]
    assert hits_second >= hits_first + 2  # GREETING and Holder.BYTES were not compiled again
    for key in ("greeting", "bytes", "built"):
        assert second[key] == first[key]
    plain = re.compile(r"(?P<word>h[aeiou]llo)\s+(\w+)", re.IGNORECASE)
    assert first["greeting"] == [plain.pattern, plain.flags, 2, {"word": 1}, ["HELLO", "world"]]
    assert first["bytes"][1] == "a|b"  # type: ignore[index]


def test_a_pattern_built_from_data_is_never_written(cache: Path) -> None:
    run_program(cache, secret="planted-Secret-4711")
    entries = marshal.loads(cache.read_bytes())
    assert any(isinstance(pattern, str) and "h[aeiou]llo" in pattern for _, pattern, _ in entries)
    assert not any("4711" in str(pattern) for _, pattern, _ in entries)
    assert b"4711" not in cache.read_bytes()


def test_a_program_sre_refuses_is_compiled_again(cache: Path) -> None:
    run_program(cache)
    entries = marshal.loads(cache.read_bytes())
    broken = {key: (value[0], [999_999] * len(value[1]), *value[2:]) for key, value in entries.items()}
    cache.write_bytes(marshal.dumps(broken))
    again = run_program(cache)
    assert again["greeting"][-1] == ["HELLO", "world"]  # type: ignore[index]
    assert again["stats"][0] == 0  # type: ignore[index]  # no hit: every program was refused


@pytest.mark.parametrize("damage", ["garbage", "group-writable"])
def test_a_damaged_or_shared_file_is_ignored(cache: Path, damage: str) -> None:
    run_program(cache)
    if damage == "garbage":
        cache.write_bytes(b"\x00not marshal")
    else:
        os.chmod(cache, 0o620)
    again = run_program(cache)
    assert again["stats"][0] == 0  # type: ignore[index]
    assert again["greeting"][-1] == ["HELLO", "world"]  # type: ignore[index]


def test_importing_bmad_leaves_re_alone() -> None:
    code = "import re._compiler as c; before = c.compile; import bmad.cli.main; print(c.compile is before)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "True"


def test_the_console_script_keeps_its_patterns(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "BMAD_NO_PROMPT": "1"}
    code = "import sys; sys.argv = ['bmad', 'version']; from bmad.cli.main import run; run()"
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True, timeout=60)
    (kept,) = (tmp_path / "bmad").glob("regex-*.marshal")
    assert kept.stat().st_mode & 0o777 == 0o600
    assert len(marshal.loads(kept.read_bytes())) > 5

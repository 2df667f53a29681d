"""A hostile bmad.yaml is one clear error (file and line, exit 2), fast and in bounded memory."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bmad.config.loader import load_config_text
from bmad.core.errors import ConfigError, ExitCode
from tests.core.test_yaml_limits import alias_bomb


def test_alias_bomb_in_bmad_yaml_is_refused_in_well_under_a_second() -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="alias bomb") as caught:
        load_config_text("version: 1\n" + alias_bomb(), source="bmad.yaml")
    assert time.perf_counter() - started < 1.0
    assert caught.value.file == "bmad.yaml" and caught.value.line is not None


@pytest.mark.parametrize("depth", [250, 50_000])
def test_deep_nesting_is_a_clear_error_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(ConfigError, match="nests deeper than"):
        load_config_text("service: " + "[" * depth + "]" * depth + "\n", source="deep.yaml")


def test_config_check_of_a_bomb_exits_2_with_one_line_and_bounded_memory(tmp_path: Path) -> None:
    config = tmp_path / "bmad.yaml"
    config.write_text(alias_bomb(), encoding="utf-8")
    limit = 1024 * 1024 * 1024  # 1 GiB of address space: the unbounded expansion needed ~6 GB

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "bmad", "config", "check", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=cap,
    )
    assert run.returncode == ExitCode.USAGE, run.stderr
    assert time.perf_counter() - started < 10
    assert "Traceback" not in run.stderr and "alias bomb" in run.stderr
    assert f"{config}:" in run.stderr

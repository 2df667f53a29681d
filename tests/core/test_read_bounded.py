"""bmad.core.files.read_bounded / read_text_file: what a user names as a file is read whole, refused,
or read up to the limit; never waited on (a FIFO nobody writes to) and never read without end."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bmad.core.errors import ConfigError
from bmad.core.files import UnreadableFile, read_bounded, read_text_file
from tests.engine.support import bmad


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "bmad.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.timeout(20)
def test_a_fifo_nobody_writes_to_reads_as_empty_not_a_wait(fifo: Path) -> None:
    assert read_bounded(fifo, 100) == b""


def _piped(data: bytes) -> Path:
    """A pipe holding ``data`` with its writer gone, named as ``-c <(...)`` names one (/dev/fd/N)."""
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return Path(f"/dev/fd/{read_end}")


@pytest.mark.timeout(20)
def test_a_pipe_is_read_up_to_the_limit() -> None:
    path = _piped(b"service: {name: x}\n")
    assert read_bounded(path, 100) == b"service: {name: x}\n"
    os.close(int(path.name))
    path = _piped(b"x" * 1000)
    with pytest.raises(UnreadableFile, match="holds more than 100 bytes"):
        read_bounded(path, 100)
    os.close(int(path.name))


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("path", "reason"),
    [("/dev/zero", "it is a device or socket, not a file"), ("/proc/self/mem", "cannot be read: Input/output error")],
)
def test_a_device_or_a_file_that_fails_is_one_config_error(path: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        read_text_file(Path(path), what="config file")
    assert reason in str(refused.value) and refused.value.file == path


def test_a_large_regular_file_is_refused_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 2000)
    with pytest.raises(ConfigError, match="config file is not read: it is 2000 bytes; the limit is 1000"):
        read_text_file(big, what="config file", max_bytes=1000)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("config", ["/dev/zero", "fifo"])
def test_bmad_given_a_device_or_an_unwritten_fifo_answers_at_once(fifo: Path, tmp_path: Path, config: str) -> None:
    """Before, ``bmad status -c /dev/zero`` read without end and ``-c <fifo>`` waited forever on the open."""
    path = str(fifo) if config == "fifo" else config
    try:
        done = bmad("status", "-c", path, cwd=tmp_path, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"bmad status -c {config} did not answer in 30 s")
    assert done.returncode == 2 and done.stderr.startswith(f"error: {path}"), done.stderr

"""bmad.core.files.read_bounded / read_text_file: what a user names as a file is read whole, refused,
or read up to the limit; never waited on (a FIFO nobody writes to) and never read without end."""

from __future__ import annotations

import os
import subprocess
import threading
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


@pytest.mark.timeout(20)
def test_a_pipe_is_read_up_to_the_limit(fifo: Path) -> None:
    def write(text: bytes) -> None:
        with fifo.open("wb") as out:
            out.write(text)

    writer = threading.Thread(target=write, args=(b"service: {name: x}\n",))
    writer.start()
    read = b""
    while not read:  # the writer may not have opened its end yet: the read is then empty
        read = read_bounded(fifo, 100)
    writer.join()
    assert read == b"service: {name: x}\n"
    writer = threading.Thread(target=write, args=(b"x" * 1000,))
    writer.start()
    with pytest.raises(UnreadableFile, match="holds more than 100 bytes"):
        while not read_bounded(fifo, 100):
            pass
    writer.join()


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

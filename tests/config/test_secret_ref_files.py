"""SecretRef ``file:``: the value is read whole and registered; a file that is not a secret's is one
ConfigError naming the reference, never its content, and never a wait or a read without end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bmad.config.base import SecretRef
from bmad.core.errors import ConfigError
from bmad.core.redact import redact


def test_the_value_is_read_stripped_and_registered(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tk-5f0e8d7c6b5a\n")
    assert SecretRef(file="token").resolve(tmp_path) == "tk-5f0e8d7c6b5a"
    assert "tk-5f0e8d7c6b5a" not in redact("sent tk-5f0e8d7c6b5a")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: os.mkfifo(p), None),  # nobody writes to it: empty, not a wait
        (lambda p: p.symlink_to("/dev/zero"), "is not read: it is a device or socket, not a file"),
        (lambda p: p.write_bytes(b"\xff\xfe pass"), "is not UTF-8 text"),
        (lambda p: p.write_bytes(b"x" * (2 << 20)), "is not read: it is 2097152 bytes"),
    ],
    ids=["fifo", "device", "binary", "huge"],
)
def test_a_file_that_holds_no_secret_text_is_one_error(tmp_path: Path, make: object, reason: str | None) -> None:
    """Before: a FIFO waited forever, /dev/zero was read without end, and bytes that are not UTF-8 ended
    the run with UnicodeDecodeError (an internal error)."""
    path = tmp_path / "secret"
    make(path)  # type: ignore[operator]
    if reason is None:
        assert SecretRef(file="secret").resolve(tmp_path) == ""
        return
    with pytest.raises(ConfigError) as refused:
        SecretRef(file="secret").resolve(tmp_path)
    assert str(refused.value).startswith(f"secret reference file:secret {reason}")
    assert "pass" not in str(refused.value)

"""write_atomic: whole files, owner-only by default, nothing left behind on failure; owner-only reads."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bmad.core.files import LEFT_BEHIND_SECONDS, private_temp_dir, read_owner_only, user_cache_dir, write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_and_its_missing_parents_are_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "state" / "runs" / "a.json"
    assert write_atomic(target, "{}\n") == target
    assert target.read_text() == "{}\n" and _mode(target) == 0o600
    assert _mode(tmp_path / "state") == _mode(tmp_path / "state" / "runs") == 0o700


def test_existing_parents_keep_their_mode_and_bytes_are_written_as_is(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    target = write_atomic(tmp_path / "b.bin", b"\x00\x01", 0o644)
    assert target.read_bytes() == b"\x00\x01" and _mode(target) == 0o644 and _mode(tmp_path) == 0o755


def test_a_rewrite_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "c.txt"
    write_atomic(target, "a long first version\n")
    write_atomic(target, "short\n")
    assert target.read_text() == "short\n" and [p.name for p in tmp_path.iterdir()] == ["c.txt"]


def test_a_file_made_again_every_run_is_still_replaced_whole_without_the_flush(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "runbook.md"
    write_atomic(target, "first\n", durable=False)
    write_atomic(target, "second\n", durable=False)
    assert target.read_text() == "second\n" and _mode(target) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["runbook.md"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = write_atomic(tmp_path / "d.txt", "old\n")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["d.txt"]


def test_read_owner_only_reads_only_what_is_ours_alone(tmp_path: Path) -> None:
    """A file that holds code is read only when it and its folder are owner-only and it is no link."""
    folder = tmp_path / "cache"
    entry = write_atomic(folder / "a.bin", b"code")
    assert read_owner_only(entry) == b"code"
    assert read_owner_only(folder / "missing.bin") is None
    (folder / "link.bin").symlink_to(entry)
    assert read_owner_only(folder / "link.bin") is None
    entry.chmod(0o640)
    assert read_owner_only(entry) is None
    entry.chmod(0o600)
    folder.chmod(0o750)
    assert read_owner_only(entry) is None


def test_user_cache_dir_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BMAD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert user_cache_dir() == tmp_path / "bmad"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_dir() == tmp_path / "home" / ".cache" / "bmad"


def test_bmad_cache_dir_names_the_folder_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI job keeps bmad's cache in its workspace without moving every other tool's (GitLab's template)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BMAD_CACHE_DIR", str(tmp_path / "ci-cache"))
    assert user_cache_dir() == tmp_path / "ci-cache"
    monkeypatch.setenv("BMAD_CACHE_DIR", "")
    assert user_cache_dir() == tmp_path / "xdg" / "bmad"


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def _left_behind(root: Path, prefix: str, pid: int, *, age: float, tag: str = "abcd1234") -> Path:
    folder = root / f"{prefix}{pid}-{tag}"
    folder.mkdir()
    (folder / "bmad-labels.compose.yml").write_text("services: {}\n")
    stamp = time.time() - age
    os.utime(folder, (stamp, stamp))
    return folder


def test_a_temp_folder_left_by_a_killed_run_is_removed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed before its ``finally`` left its folder behind (compose label overrides piled up in
    /tmp): the next one removes those whose process is gone, once an hour old."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    try:
        gone = _dead_pid()
        stale = _left_behind(tmp_path, "bmad-compose-env-", gone, age=2 * LEFT_BEHIND_SECONDS)
        recent = _left_behind(tmp_path, "bmad-compose-env-", gone, age=0, tag="recent01")  # another namespace's?
        alive = _left_behind(tmp_path, "bmad-compose-env-", os.getppid(), age=2 * LEFT_BEHIND_SECONDS)
        other = _left_behind(tmp_path, "bmad-compose-release-", gone, age=2 * LEFT_BEHIND_SECONDS)
        made = private_temp_dir("bmad-compose-env-")
        assert made.parent == tmp_path and made.name.startswith(f"bmad-compose-env-{os.getpid()}-")
        assert made.stat().st_mode & 0o777 == 0o700
        assert not stale.exists()
        assert recent.exists() and alive.exists() and other.exists()
    finally:
        tempfile.tempdir = None

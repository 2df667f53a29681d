"""write_atomic: whole files, owner-only by default, nothing left behind on failure; owner-only reads."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bmad.core.files import read_owner_only, user_cache_dir, write_atomic


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

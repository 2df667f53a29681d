"""The one way bmad writes a file: whole or not at all, owner-only by default.

The data goes to a temporary name in the target's folder, is flushed to disk (unless the file is
made again on every run) and renamed over the target, so a reader sees the old file or the new
one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bmad.core.errors import ConfigError


def user_cache_dir() -> Path:
    """bmad's folder in the user's cache: ``$BMAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/bmad`` (``~/.cache/bmad``
    when neither is set). A CI job keeps it between pipelines (see docs/ci.md)."""
    named = os.environ.get("BMAD_CACHE_DIR")
    if named:
        return Path(named)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bmad"


def write_atomic(
    path: Path, data: str | bytes, mode: int = 0o600, *, dir_mode: int = 0o700, durable: bool = True
) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` with ``mode``; missing parents get ``dir_mode``.

    ``durable=False`` skips the flush to disk (several milliseconds a file) for files that are
    made again from the ledger on every run: the rename still shows the old file or the new one.
    """
    make_dirs(path.parent, dir_mode)
    content = data.encode("utf-8") if isinstance(data, str) else data
    fd, temp = _new_temp_file(path)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        Path(temp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise
    return path


def _new_temp_file(path: Path) -> tuple[int, Path]:
    """A new file beside ``path`` under a random name (``O_EXCL``: never one that exists), as
    ``tempfile.mkstemp`` makes one; here so that the command does not import tempfile (with
    shutil, random and the compression modules: 5-8 ms)."""
    while True:
        temp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), temp
        except FileExistsError:  # 2**48 names: another writer's leftover, at most
            continue


def scratch_file() -> IO[bytes]:
    """An unnamed read-write file that disappears when closed, for a program's output: Linux's
    ``O_TMPFILE`` in ``$TMPDIR`` (else /tmp), or ``tempfile.TemporaryFile`` where that is refused."""
    folder = os.environ.get("TMPDIR") or "/tmp"  # noqa: S108 (an O_TMPFILE file has no name to guess)
    flag = getattr(os, "O_TMPFILE", 0)
    if flag:
        try:
            return open(os.open(folder, flag | os.O_RDWR | os.O_CLOEXEC, 0o600), "w+b")
        except OSError:
            pass
    import tempfile

    return tempfile.TemporaryFile()


LEFT_BEHIND_SECONDS = 3600  # a temp folder of a process that is gone is removed once this old


def private_temp_dir(prefix: str) -> Path:
    """A new owner-only folder in the system's temp folder, named ``<prefix><pid>-<random>``; the
    caller removes it. Folders of the same prefix left by a process that is gone (a run killed before
    its ``finally`` could remove them) are removed first once an hour old, so killed runs do not pile
    them up. (The age: a process in another PID namespace sharing this temp folder looks gone.)"""
    import shutil
    import tempfile
    import time

    from bmad.core.procs import pid_alive

    root = Path(tempfile.gettempdir())
    too_old = time.time() - LEFT_BEHIND_SECONDS
    for left in root.glob(f"{prefix}*-*"):
        owner = left.name[len(prefix) :].split("-", 1)[0]
        if owner.isdigit() and not pid_alive(int(owner)) and _old_folder(left, too_old):
            shutil.rmtree(left, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root))


def _old_folder(path: Path, before: float) -> bool:
    """Whether ``path`` is a folder (not a link to one) last changed before ``before``."""
    try:
        found = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(found.st_mode) and found.st_mtime < before


def make_dirs(folder: Path, mode: int = 0o700) -> None:
    """Create ``folder`` and its missing parents, each with ``mode`` (existing ones are left alone)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode)
            directory.chmod(mode)  # mkdir's mode is masked by the umask


_OWNER_ONLY_UMASK = 0o077
_user_umask: list[int] = []  # the umask owner_only() replaced, innermost last


@contextlib.contextmanager
def owner_only() -> Iterator[None]:
    """Files and folders bmad's process creates meanwhile (itself or a library: SQLite, logging)
    are owner-only; programs it starts keep the user's umask (:func:`child_umask`).

    The umask is the process's, so this is for the CLI's one run at a time; it is restored after.
    """
    previous = os.umask(_OWNER_ONLY_UMASK)
    _user_umask.append(previous)
    try:
        yield
    finally:
        _user_umask.pop()
        os.umask(previous)


def child_umask() -> int:
    """The umask for a program bmad starts: the user's (``-1``, unchanged, outside :func:`owner_only`)."""
    return _user_umask[0] if _user_umask else -1


def read_keyed_json(path: Path, key: str) -> dict[str, Any] | None:
    """A cache file's JSON object when it is ours alone (owner-only, our uid) and holds ``key``; else None.

    A cache bmad keeps is never code (JSON, never pickle) and is ignored when someone else could have
    written it; the caller rebuilds what it holds and treats a misfit as a miss.
    """
    try:
        if not _ours_alone(path.stat()):
            return None
        cached = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return cached if isinstance(cached, dict) and cached.get("key") == key else None


def keep_newest(folder: Path, pattern: str, count: int) -> None:
    """Remove the files of ``folder`` matching ``pattern`` beyond the ``count`` most recently modified
    (a cache kept bounded); a file that vanishes or cannot be removed meanwhile is left alone."""
    found: list[tuple[float, Path]] = []
    for path in folder.glob(pattern):
        with contextlib.suppress(OSError):
            found.append((path.stat().st_mtime, path))
    if len(found) <= count:
        return
    found.sort(reverse=True)
    for _, path in found[count:]:
        with contextlib.suppress(OSError):
            path.unlink()


def read_owner_only(path: Path) -> bytes | None:
    """The bytes of ``path`` when it and its folder are ours alone; else None (also when missing).

    For a cache that holds code: a regular file (not a link) of our uid, no group/other bits, in a
    folder of our uid that no one else can read or write. The file is checked on the opened handle,
    so it cannot be swapped between the check and the read.
    """
    try:
        if not _ours_alone(path.parent.stat()):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        found = os.fstat(handle.fileno())
        if not stat.S_ISREG(found.st_mode) or not _ours_alone(found):
            return None
        return handle.read()


def _ours_alone(found: os.stat_result) -> bool:
    """Whether a file or folder is our uid's with no group or other bits (no one else wrote it)."""
    return found.st_uid == os.getuid() and not found.st_mode & 0o077


class UnreadableFile(OSError):
    """A file :func:`read_bounded` will not read whole; ``reason`` says why (without its content). An
    :class:`OSError` (``strerror`` None, ``str()`` the reason), so a caller's ``except OSError`` says it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, never more than ``max_bytes`` and never a wait on nobody.

    A regular file larger than ``max_bytes`` is refused by its size; a pipe (``-c <(...)``, a FIFO) is
    read up to ``max_bytes``, and one that nothing writes to reads as empty instead of blocking the
    open; a device (``/dev/zero``, a terminal) is refused, as it may never end. Other failures are
    the :class:`OSError` of the call that failed (missing, permission, ``EIO``...)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # O_NONBLOCK: a FIFO's open never waits
    try:
        found = os.fstat(fd)
        if stat.S_ISDIR(found.st_mode):
            raise IsADirectoryError(21, "Is a directory", str(path))
        if not (stat.S_ISREG(found.st_mode) or stat.S_ISFIFO(found.st_mode)):
            raise UnreadableFile("it is a device or socket, not a file")
        if found.st_size > max_bytes:
            raise UnreadableFile(f"it is {found.st_size} bytes; the limit is {max_bytes}")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise UnreadableFile(f"it holds more than {max_bytes} bytes, the limit")
        return b"".join(chunks)
    finally:
        os.close(fd)


MAX_TEXT_BYTES = 5 * 1024 * 1024  # bmad.yaml, compose files, attestations: far above any real one


def read_text_file(file: Path, *, what: str = "file", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Read a UTF-8 text file, turning every way it can fail into a ConfigError."""
    name = str(file)
    try:
        raw = read_bounded(file, max_bytes)  # a FIFO, /dev/zero or a huge file: refused, never waited on
    except FileNotFoundError:
        hint = "run 'bmad init' to write a starter bmad.yaml" if what == "config file" else None
        raise ConfigError(f"{what} not found", file=name, hint=hint) from None
    except PermissionError:
        raise ConfigError(f"{what} cannot be read: permission denied", file=name) from None
    except IsADirectoryError:
        raise ConfigError(f"{what} is a directory, not a file", file=name) from None
    except UnreadableFile as refused:
        raise ConfigError(f"{what} is not read: {refused.reason}", file=name) from None
    except OSError as exc:
        raise ConfigError(f"{what} cannot be read: {exc.strerror or exc}", file=name) from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise ConfigError(f"not a text file (binary content at byte {nul})", file=name, line=line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"not valid UTF-8 text (byte {exc.start})", file=name, line=line) from None

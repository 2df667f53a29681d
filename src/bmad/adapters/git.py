"""git, through :func:`bmad.adapters._process.run_command`, or :func:`bmad.core.process.start` for
questions asked side by side.

Reads the release facts (head commit, dirty tree, commit time, who commits) and writes phase
records to a dedicated branch with ``git fast-import`` (no checkout, no index), so the service's
working tree, index and checked-out branch are never touched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bmad.adapters._process import CommandResult, run_command
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, UsageError
from bmad.core.process import Running, start

_ZERO = "0" * 40
_FALLBACK_IDENTITY = "bmad <bmad@localhost.invalid>"


def _git(
    repo: Path, *args: str, env: Mapping[str, str] | None = None, input_text: str | None = None, check: bool = True
) -> CommandResult:
    return run_command(
        ["git", "-C", str(repo), *args], system="git", env=env, input_text=input_text, check=check, timeout=120
    )


def repo_root(path: Path) -> Path:
    result = _git(path, "rev-parse", "--show-toplevel", check=False) if path.is_dir() else None
    if result is None or not result.ok:
        raise UsageError(
            f"{path} is not inside a git repository",
            hint="bmad versions a release by its git commit: run 'git init' and commit, or set service.repository",
        )
    return Path(result.stdout.strip())


@datatype(frozen=True)
class Head:
    """A repository's top folder, its HEAD commit and, when asked for, a branch's commit (None: no such branch)."""

    root: Path
    commit: str
    branch_commit: str | None = None


def head(path: Path, *, branch: str | None = None) -> Head:
    """The top folder of the repository at ``path``, its HEAD commit and the commit of ``branch``
    (when given), from one ``git rev-parse``; with no repository or no commit yet, the errors of
    :func:`repo_root` and :func:`head_commit`."""
    revs = ["HEAD^{commit}"] if branch is None else ["HEAD^{commit}", f"refs/heads/{branch}^{{commit}}"]
    # --verify takes one revision: without it, a missing branch ends the output with its own name
    verify = ["--verify"] if branch is None else []
    result = _git(path, "rev-parse", "--show-toplevel", *verify, *revs, check=False) if path.is_dir() else None
    lines = result.stdout.splitlines() if result is not None else []
    if result is not None and len(lines) == 1 + len(revs) and _is_object_id(lines[1].strip()):
        rest = [line.strip() for line in lines[2:]]  # the branch's commit, or its name when it does not exist
        if result.ok and all(_is_object_id(rev) for rev in rest):
            return Head(Path(lines[0]), lines[1].strip(), rest[0] if rest else None)
        if branch is not None and rest == revs[1:]:
            return Head(Path(lines[0]), lines[1].strip(), None)
    root = repo_root(path)
    return Head(root, head_commit(root), branch_head(root, branch) if branch is not None else None)


def _is_object_id(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _email_of(result: CommandResult) -> str | None:
    return (result.stdout.strip() or None) if result.ok else None


def head_commit(repo: Path) -> str:
    result = _git(repo, "rev-parse", "--verify", "HEAD^{commit}", check=False)
    if not result.ok:
        raise UsageError(f"the repository {repo} has no commit yet", hint="commit the service first")
    return result.stdout.strip()


_COMMIT_TIME = ("show", "-s", "--format=%ct")
_COMMITTER_IDENT = ("var", "GIT_COMMITTER_IDENT")


def _time_of(result: CommandResult) -> datetime:
    return datetime.fromtimestamp(int(result.stdout.strip()), tz=UTC)


def _status_args(exclude: Sequence[str]) -> list[str]:
    """``git status`` of changed or untracked paths (ignored files excluded), minus ``exclude``."""
    return ["status", "--porcelain=v1", "--untracked-files=normal", "--", ".", *(f":(exclude){i}" for i in exclude)]


def _paths_of(result: CommandResult) -> list[str]:
    return [line[3:] for line in result.stdout.splitlines() if line.strip()]


@datatype(frozen=True)
class ReleaseFacts:
    """What a run asks git about its release, asked together (see :func:`release_facts`)."""

    head: Head
    changed: list[str]  # dirty paths of the service's folder
    commit_time: datetime
    user_email: str | None = None  # ``git config user.email``, when asked


def release_facts(service_dir: Path, *, branch: str | None, exclude: Sequence[str], email: bool) -> ReleaseFacts:
    """HEAD (:func:`head`), the dirty paths of ``service_dir`` (changed or untracked, ignored files and
    ``exclude`` left out: paths relative to ``service_dir``), HEAD's commit
    time and, with ``email``, ``git config user.email``; git's committer identity is read too and
    kept for the record commits (:func:`committer_line`). ``git status`` starts before HEAD is
    read and the others right after: they run side by side (several milliseconds each, waited for
    once), not one after the other. The errors of the functions named."""
    status = _start_git(service_dir, *_status_args(exclude))
    try:
        at = head(service_dir, branch=branch)
    except BaseException:
        status.wait()  # collected, not left running: the error is head's
        raise
    key = _identity_key(at.root)
    asked_time = _start_git(at.root, *_COMMIT_TIME, at.commit)
    asked_ident = _start_git(at.root, *_COMMITTER_IDENT) if key not in _COMMITTERS else None
    asked_email = _start_git(at.root, "config", "user.email") if email else None
    for asked in (status, asked_time, asked_ident, asked_email):  # each collected before any error is raised
        if asked is not None:
            asked.wait()
    if asked_ident is not None:
        _remember_committer(key, asked_ident.wait())
    found_email = _email_of(asked_email.wait()) if asked_email is not None else None
    changed = _paths_of(status.wait(check=True))
    return ReleaseFacts(at, changed, _time_of(asked_time.wait(check=True)), found_email)


def _start_git(repo: Path, *args: str, input_text: str | None = None) -> Running:
    return start(["git", "-C", str(repo), *args], system="git", input_text=input_text, timeout=120)


def branch_head(repo: Path, branch: str) -> str | None:
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
    return result.stdout.strip() if result.ok and result.stdout.strip() else None


def commit_files(
    repo: Path, branch: str, files: Mapping[str, str], message: str, *, attempts: int = 5, parent: str | None = None
) -> str:
    """Commit ``files`` (path -> text) on top of ``branch`` without touching the working tree.

    One ``git fast-import``: it writes the blobs, the trees and the commit (``parent``'s tree plus
    ``files``) and moves the branch only if its current commit is still an ancestor of the new one,
    with a compare-and-swap on the value it read (see git-fast-import(1), "from" and the end of an
    import). When another process committed in between, the import is refused and built again on
    the new tip. ``parent``: the branch's commit when the caller has just read it (a stale one only
    costs a retry). The committer (and author) is git's committer identity, else
    ``bmad <bmad@localhost.invalid>``. Returns the new commit id.
    """
    return start_commit(repo, branch, files, message, attempts=attempts, parent=parent).result()


def start_commit(
    repo: Path, branch: str, files: Mapping[str, str], message: str, *, attempts: int = 5, parent: str | None = None
) -> PendingCommit:
    """:func:`commit_files` with its first import started now: bmad goes on while git writes;
    :meth:`PendingCommit.result` waits for it (and makes any retry)."""
    if parent is None:
        parent = branch_head(repo, branch)
    commit = PendingCommit(repo, branch, dict(files), message, attempts)
    commit.begin(parent)
    return commit


class PendingCommit:
    """A commit of :func:`start_commit` until :meth:`result` has its id."""

    def __init__(self, repo: Path, branch: str, files: dict[str, str], message: str, attempts: int) -> None:
        self.repo, self.branch, self.files, self.message, self.attempts = repo, branch, files, message, attempts
        self._import: Running | None = None
        self._parent: str | None = None
        self._commit: str | None = None

    def begin(self, parent: str | None) -> None:
        self._parent = parent
        stream = _import_stream(self.branch, self.files, self.message, committer_line(self.repo), parent)
        self._import = _start_git(self.repo, "fast-import", "--quiet", "--done", input_text=stream)

    def result(self) -> str:
        """The new commit's id, once the branch points at it; built again on a branch that moved."""
        if self._commit is not None:
            return self._commit
        for attempt in range(1, self.attempts + 1):
            assert self._import is not None
            done = self._import.wait()
            printed = done.stdout.strip()
            if done.ok and _is_object_id(printed):
                self._commit = printed
                return printed
            moved_to = branch_head(self.repo, self.branch)
            if moved_to == self._parent:  # the branch did not move: the import itself failed
                raise AdapterError("git", f"committing to branch {self.branch}", done.tail(5), status=done.exit_code)
            if attempt < self.attempts:
                self.begin(moved_to)
        raise AdapterError(
            "git", f"updating branch {self.branch}", "it kept moving under concurrent writers", temporary=True
        )


def _import_stream(branch: str, files: Mapping[str, str], message: str, committer: str, parent: str | None) -> str:
    """The fast-import commands of one commit on ``branch``: ``parent``'s tree plus ``files``; the new
    commit's id is printed (``get-mark``) before the branch is updated at ``done``."""
    lines = [f"commit refs/heads/{branch}", "mark :1", committer, _data(message)]
    if parent:
        lines.append(f"from {parent}")
    for path, content in files.items():
        lines += [f"M 100644 inline {_quoted_path(path)}", _data(content)]
    lines += ["", "get-mark :1", "done", ""]
    return "\n".join(lines)


def _data(text: str) -> str:
    """A ``data`` command: the length counts bytes (the stream is written as UTF-8)."""
    return f"data {len(text.encode())}\n{text}"


def _quoted_path(path: str) -> str:
    """A path as fast-import reads it: C-style quoted (so spaces, quotes and newlines stay in it)."""
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_COMMITTERS: dict[tuple[Path, tuple[str | None, ...]], tuple[str, str]] = {}  # identity, time zone
# what git's committer identity is read from, beside the repository's config
_IDENTITY_ENV = ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL", "HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL")


def committer_line(repo: Path) -> str:
    """``committer <name> <<email>> <when> <tz>`` for fast-import: ``git var GIT_COMMITTER_IDENT``
    (which reads GIT_COMMITTER_NAME/EMAIL, the config and EMAIL as a commit would), asked once per
    repository and process; the time is now, unless GIT_COMMITTER_DATE fixes it (then git is asked
    each time, as it parses that date). Without an identity: ``bmad <bmad@localhost.invalid>``."""
    key = _identity_key(repo)
    if "GIT_COMMITTER_DATE" in os.environ:
        who, _, when = _ident_of(_git(repo, *_COMMITTER_IDENT, check=False))
        return f"committer {who}>{when}" if who else f"committer {_FALLBACK_IDENTITY} {int(time.time())} +0000"
    if key not in _COMMITTERS:
        _remember_committer(key, _git(repo, *_COMMITTER_IDENT, check=False))
    ident, zone = _COMMITTERS[key]
    return f"committer {ident} {int(time.time())} {zone}"


def _identity_key(repo: Path) -> tuple[Path, tuple[str | None, ...]]:
    return repo, tuple(os.environ.get(name) for name in _IDENTITY_ENV)


def _ident_of(result: CommandResult) -> tuple[str, str, str]:
    """``git var GIT_COMMITTER_IDENT`` split at the email's end: ``("Name <email", ">", " when zone")``."""
    return result.stdout.strip().rpartition(">") if result.ok else ("", "", "")


def _remember_committer(key: tuple[Path, tuple[str | None, ...]], result: CommandResult) -> None:
    """Keep the identity (or the fallback, when git has none) and the time zone it was given with."""
    who, _, when = _ident_of(result)
    _COMMITTERS[key] = (f"{who}>", when.split()[-1]) if who else (_FALLBACK_IDENTITY, "+0000")


def read_file(repo: Path, ref: str, path: str) -> str | None:
    result = _git(repo, "show", f"{ref}:{path}", check=False)
    return result.stdout if result.ok else None


def push(repo: Path, remote: str, branch: str) -> None:
    _git(repo, "push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")


def file_versions(repo: Path, ref: str, prefix: str) -> list[tuple[str, str, str]]:
    """Every version of the files under ``prefix`` in ``ref``'s history, as (commit, path, text);
    empty when ``ref`` does not exist."""
    if not _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).ok:
        return []
    log = _git(repo, "log", "--format=commit %H", "--raw", "--no-abbrev", "--no-renames", ref, "--", prefix)
    versions: list[tuple[str, str, str]] = []
    commit = ""
    for line in log.stdout.splitlines():
        if line.startswith("commit "):
            commit = line.split()[1]
        elif line.startswith(":"):
            fields, _, path = line.partition("\t")
            blob = fields.split()[3]
            if blob != _ZERO:
                versions.append((commit, path, _git(repo, "cat-file", "blob", blob).stdout))
    return versions

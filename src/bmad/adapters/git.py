"""git, through :func:`bmad.adapters._process.run_command` only.

Reads the release facts (head commit, dirty tree, commit time) and writes phase records to a
dedicated branch with plumbing commands and a temporary index (``GIT_INDEX_FILE``), so the
service's working tree, index and checked-out branch are never touched.
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


def user_email(repo: Path) -> str | None:
    """``git config user.email`` as seen from ``repo`` (None when unset or not a repository)."""
    result = _git(repo, "config", "user.email", check=False) if repo.is_dir() else None
    if result is None or not result.ok:
        return None
    return result.stdout.strip() or None


def head_commit(repo: Path) -> str:
    result = _git(repo, "rev-parse", "--verify", "HEAD^{commit}", check=False)
    if not result.ok:
        raise UsageError(f"the repository {repo} has no commit yet", hint="commit the service first")
    return result.stdout.strip()


def commit_time(repo: Path, rev: str = "HEAD") -> datetime:
    result = _git(repo, "show", "-s", "--format=%ct", rev)
    return datetime.fromtimestamp(int(result.stdout.strip()), tz=UTC)


def dirty_paths(repo: Path, *, exclude: Sequence[str] = ()) -> list[str]:
    """Changed or untracked paths (ignored files excluded), minus ``exclude`` (paths relative to ``repo``)."""
    pathspec = ["--", ".", *(f":(exclude){item}" for item in exclude)]
    result = _git(repo, "status", "--porcelain=v1", "--untracked-files=normal", *pathspec)
    return [line[3:] for line in result.stdout.splitlines() if line.strip()]


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
    for attempt in range(attempts):
        if attempt or parent is None:
            parent = branch_head(repo, branch)
        stream = _import_stream(branch, files, message, committer_line(repo), parent)
        result = _git(repo, "fast-import", "--quiet", "--done", input_text=stream, check=False)
        commit = result.stdout.strip()
        if result.ok and _is_object_id(commit):
            return commit
        if branch_head(repo, branch) == parent:  # the branch did not move: the import itself failed
            raise AdapterError("git", f"committing to branch {branch}", result.tail(5), status=result.exit_code)
    raise AdapterError("git", f"updating branch {branch}", "it kept moving under concurrent writers", temporary=True)


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


_COMMITTERS: dict[tuple[Path, tuple[str | None, ...]], tuple[str, str]] = {}
# what git's committer identity is read from, beside the repository's config
_IDENTITY_ENV = ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL", "HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL")


def committer_line(repo: Path) -> str:
    """``committer <name> <<email>> <when> <tz>`` for fast-import: ``git var GIT_COMMITTER_IDENT``
    (which reads GIT_COMMITTER_NAME/EMAIL, the config and EMAIL as a commit would), asked once per
    repository and process; the time is now, unless GIT_COMMITTER_DATE fixes it (then git is asked
    each time, as it parses that date). Without an identity: ``bmad <bmad@localhost.invalid>``."""
    key = (repo, tuple(os.environ.get(name) for name in _IDENTITY_ENV))
    if "GIT_COMMITTER_DATE" in os.environ or key not in _COMMITTERS:
        result = _git(repo, "var", "GIT_COMMITTER_IDENT", check=False)
        who, _, when = result.stdout.strip().rpartition(">") if result.ok else ("", "", "")
        if not who:
            return f"committer {_FALLBACK_IDENTITY} {int(time.time())} +0000"
        if "GIT_COMMITTER_DATE" in os.environ:
            return f"committer {who}>{when}"
        _COMMITTERS[key] = (f"{who}>", when.split()[-1])
    ident, zone = _COMMITTERS[key]
    return f"committer {ident} {int(time.time())} {zone}"


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

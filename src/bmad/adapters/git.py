"""git, through :func:`bmad.adapters._process.run_command` only.

Reads the release facts (head commit, dirty tree, commit time) and writes phase records to a
dedicated branch with plumbing commands and a temporary index (``GIT_INDEX_FILE``), so the
service's working tree, index and checked-out branch are never touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bmad.adapters._process import CommandResult, run_command
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, UsageError

_ZERO = "0" * 40
_FALLBACK_IDENTITY = ("-c", "user.name=bmad", "-c", "user.email=bmad@localhost.invalid")


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

    Uses a temporary index; the branch moves with a compare-and-swap ``update-ref``, retried if
    another process committed in between. ``parent``: the branch's commit when the caller has just
    read it (a stale one only costs a retry). Returns the new commit id.
    """
    for attempt in range(attempts):
        if attempt or parent is None:
            parent = branch_head(repo, branch)
        with tempfile.TemporaryDirectory(prefix="bmad-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                _git(repo, "read-tree", parent, env=env)
            else:
                _git(repo, "read-tree", "--empty", env=env)
            for path, content in files.items():
                blob = _git(repo, "hash-object", "-w", "--stdin", input_text=content).stdout.strip()
                _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = _git(repo, "write-tree", env=env).stdout.strip()
        commit = _commit_tree(repo, tree, parent, message)
        moved = _git(
            repo, "update-ref", "-m", "bmad record", f"refs/heads/{branch}", commit, parent or _ZERO, check=False
        )
        if moved.ok:
            return commit
    raise AdapterError("git", f"updating branch {branch}", "it kept moving under concurrent writers", temporary=True)


def _commit_tree(repo: Path, tree: str, parent: str | None, message: str) -> str:
    args = ["commit-tree", tree, *(["-p", parent] if parent else []), "-m", message]
    result = _git(repo, *args, check=False)
    if not result.ok and ("tell me who you are" in result.stderr or "auto-detect" in result.stderr):
        result = run_command(["git", "-C", str(repo), *_FALLBACK_IDENTITY, *args], system="git", check=True)
    elif not result.ok:
        raise AdapterError("git", "commit-tree", result.tail(5), status=result.exit_code)
    return result.stdout.strip()


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

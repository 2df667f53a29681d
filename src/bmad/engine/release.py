"""A release from git: (service, environment, version = HEAD commit). A dirty tree is refused where
the environment does not allow it (production by default)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from bmad.adapters import git
from bmad.config.models import BmadConfig
from bmad.core.ci import ci_actor
from bmad.core.datatypes import datatype
from bmad.core.errors import GateRefused
from bmad.core.models import Release


def state_dir_exclusions(config: BmadConfig, repo: Path) -> list[str]:
    """Paths inside the repository that bmad writes itself (its state folder) and that never make a tree dirty."""
    state = config.state_path.resolve()
    try:
        return [str(state.relative_to(repo.resolve()))]
    except ValueError:
        return []


@datatype(frozen=True)
class GitRelease:
    """The release at HEAD and the top folder of its repository (where its records are committed)."""

    release: Release
    repo: Path
    records_head: str | None = None  # the records branch's commit, read with HEAD (None: none yet)
    git_email: str | None = None  # ``git config user.email``: asked only for a run outside CI


def release_from_git(config: BmadConfig, environment: str, *, check_dirty: bool = True) -> Release:
    return read_release(config, environment, check_dirty=check_dirty).release


def read_release(
    config: BmadConfig, environment: str, *, check_dirty: bool = True, for_run: bool = False
) -> GitRelease:
    """The release at HEAD (a dirty tree refused unless ``check_dirty`` is off or the environment allows it).

    ``for_run``: also ``git config user.email`` (outside CI: the deployer when no CI user is known,
    see :func:`bmad.core.ci.current_deployer`) and git's committer identity for the records, asked
    of git alongside the release's facts.
    """
    env = config.environment(environment)
    # scoped to the service's folder (a service may live in a sub-folder of a larger repository)
    service_dir = config.repository_dir
    ask_email = for_run and ci_actor(os.environ) is None  # in CI the CI user is the deployer: git is not asked
    facts = git.release_facts(
        service_dir,
        branch=config.records.branch if config.records.enabled else None,
        exclude=state_dir_exclusions(config, service_dir),
        email=ask_email,
    )
    repo, version, changed = facts.head.root, facts.head.commit, facts.changed
    release = Release(
        service=config.service.name,
        environment=environment,
        version=version,
        dirty=bool(changed),
        commit_time=facts.commit_time,
    )
    if check_dirty and changed and not env.dirty_allowed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise GateRefused(
            f"the working tree of {repo} has uncommitted changes ({shown}); "
            f"environment {environment!r} only takes committed releases",
            hint="commit (or stash) the changes, or set allow_dirty: true for this environment",
        )
    return GitRelease(release, repo, facts.head.branch_commit, facts.user_email)


class PendingRelease:
    """:func:`read_release` asked on a thread of its own, started with it (see :func:`start_read_release`)."""

    def __init__(self, config: BmadConfig, environment: str, *, for_run: bool) -> None:
        self._value: GitRelease | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._read, args=(config, environment, for_run), name="bmad-release", daemon=True
        )
        self._thread.start()

    def _read(self, config: BmadConfig, environment: str, for_run: bool) -> None:
        try:
            self._value = read_release(config, environment, for_run=for_run)
        except BaseException as exc:  # handed to the caller of result(), in its thread
            self._error = exc

    def wait(self) -> None:
        """Until git has answered (or failed)."""
        self._thread.join()

    def result(self) -> GitRelease:
        """The release, once git has answered; :func:`read_release`'s error, raised here."""
        self.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def start_read_release(config: BmadConfig, environment: str, *, for_run: bool = False) -> PendingRelease:
    """:func:`read_release` started now on a thread: the caller opens its ledger while git answers.

    git's commands are other processes (``git status`` alone takes ~10 ms in the example); the
    thread only starts them and waits (the GIL is free meanwhile), so a run's ledger opens and its
    lock is taken in that time instead of after it."""
    return PendingRelease(config, environment, for_run=for_run)

"""A release from git: (service, environment, version = HEAD commit). A dirty tree is refused where
the environment does not allow it (production by default)."""

from __future__ import annotations

from pathlib import Path

from bmad.adapters import git
from bmad.config.models import BmadConfig
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


def release_from_git(config: BmadConfig, environment: str, *, check_dirty: bool = True) -> Release:
    return read_release(config, environment, check_dirty=check_dirty).release


def read_release(config: BmadConfig, environment: str, *, check_dirty: bool = True) -> GitRelease:
    """The release at HEAD (a dirty tree refused unless ``check_dirty`` is off or the environment allows it)."""
    env = config.environment(environment)
    records = config.records.branch if config.records.enabled else None
    head = git.head(config.repository_dir, branch=records)
    repo, version = head.root, head.commit
    # scoped to the service's folder (a service may live in a sub-folder of a larger repository)
    service_dir = config.repository_dir
    changed = git.dirty_paths(service_dir, exclude=state_dir_exclusions(config, service_dir))
    release = Release(
        service=config.service.name,
        environment=environment,
        version=version,
        dirty=bool(changed),
        commit_time=git.commit_time(repo, version),
    )
    if check_dirty and changed and not env.dirty_allowed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise GateRefused(
            f"the working tree of {repo} has uncommitted changes ({shown}); "
            f"environment {environment!r} only takes committed releases",
            hint="commit (or stash) the changes, or set allow_dirty: true for this environment",
        )
    return GitRelease(release, repo, head.branch_commit)

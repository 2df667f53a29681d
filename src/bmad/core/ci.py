"""Who runs bmad: the CI system's documented variables for the person, the pipeline run and its trigger.

The ledger records a :class:`Deployer` with every phase run; the reports, ``bmad history`` and
``bmad status`` show it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bmad.core.datatypes import datatype

# CI systems' documented variables for the person who started the pipeline.
CI_ACTOR_VARIABLES = (
    "GITHUB_ACTOR",  # GitHub Actions
    "GITLAB_USER_LOGIN",  # GitLab CI
    "BUILDKITE_BUILD_CREATOR",  # Buildkite
    "CIRCLE_USERNAME",  # CircleCI
    "BUILD_REQUESTEDFOR",  # Azure Pipelines
    "BUILD_USER_ID",  # Jenkins (build-user-vars plugin)
)
MANUAL = "manual"


@datatype(frozen=True)
class Deployer:
    """Who ran a phase (CI user, ``git config user.email`` or the OS user), in which CI run, started by what."""

    actor: str | None = None
    run_url: str | None = None
    trigger: str | None = None

    @property
    def recorded(self) -> bool:
        return any((self.actor, self.run_url, self.trigger))

    def to_dict(self) -> dict[str, str | None]:
        return {"actor": self.actor, "run_url": self.run_url, "trigger": self.trigger}

    def describe(self) -> str:
        """One line for people: ``octocat (trigger: push; run: https://...)``."""
        details = [f"trigger: {self.trigger}"] if self.trigger else []
        if self.run_url:
            details.append(f"run: {self.run_url}")
        who = self.actor or "unknown actor"
        return f"{who} ({'; '.join(details)})" if details else who


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def ci_actor(env: Mapping[str, str]) -> str | None:
    """The person the CI system says started the pipeline (None outside CI)."""
    return _first(env, CI_ACTOR_VARIABLES)


def ci_run_url(env: Mapping[str, str]) -> str | None:
    """The pipeline run's page: GitHub Actions' run URL (built from its variables) or GitLab's pipeline URL."""
    github = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    server, repository, run_id = (env.get(name, "").strip() for name in github)
    if server and repository and run_id:
        return f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}"
    return _first(env, ("CI_PIPELINE_URL", "BUILDKITE_BUILD_URL", "CIRCLE_BUILD_URL", "BUILD_URL"))


def ci_trigger(env: Mapping[str, str]) -> str:
    """What started the pipeline (``push``, ``schedule``, ``merge_request_event`` ...), else ``manual``."""
    return _first(env, ("GITHUB_EVENT_NAME", "CI_PIPELINE_SOURCE", "BUILDKITE_SOURCE", "BUILD_REASON")) or MANUAL


def os_user(env: Mapping[str, str]) -> str | None:
    found = _first(env, ("USER", "USERNAME", "LOGNAME"))
    if found:
        return found
    try:  # the passwd entry, as getpass.getuser() would (importing getpass costs a read command ~35 ms)
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # no passwd module (Windows) or no entry for this uid
        return None


def current_deployer(git_email: str | None, environ: Mapping[str, str] | None = None) -> Deployer:
    """The deployer of this process: the CI user, else ``git_email``, else the OS user."""
    env = os.environ if environ is None else environ
    actor = _first(env, CI_ACTOR_VARIABLES) or (git_email or "").strip() or os_user(env)
    return Deployer(actor=actor, run_url=ci_run_url(env), trigger=ci_trigger(env))

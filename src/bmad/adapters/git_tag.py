"""The release's rollback tag in its git repository: an annotated tag, pushed when the remote exists."""

from __future__ import annotations

import re
from pathlib import Path

from bmad.adapters._process import CommandResult, run_command
from bmad.core.errors import AdapterError
from bmad.ports.evidence import EvidenceSink
from bmad.ports.release_tag import TagOutcome


class GitReleaseTagger:
    """Implements :class:`bmad.ports.release_tag.ReleaseTagger`."""

    def __init__(self, repo: Path, *, evidence: EvidenceSink | None = None) -> None:
        self.repo = repo
        self._evidence = evidence

    def _git(self, *args: str, check: bool = True, label: str | None = None) -> CommandResult:
        return run_command(
            ["git", "-C", str(self.repo), *args],
            system="git",
            timeout=120,
            check=check,
            evidence=self._evidence if label else None,
            label=label,
        )

    def _existing(self, name: str) -> tuple[str, str] | None:
        """(commit the tag points to, its message) or None."""
        ref = f"refs/tags/{name}"
        found = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if not found.ok:
            return None
        message = self._git("for-each-ref", "--format=%(contents)", ref).stdout.strip()
        return found.stdout.strip(), message

    def tag(self, name: str, *, commit: str, message: str) -> TagOutcome:
        self._git("check-ref-format", f"refs/tags/{name}")
        existing = self._existing(name)
        if existing is not None and existing[0] == commit and existing[1] == message.strip():
            return TagOutcome(name=name, action="unchanged")
        args = ["tag", "--annotate", "--message", message]
        if existing is not None:
            args.append("--force")
        result = self._git(*args, name, commit, check=False, label="git tag")
        if not result.ok:
            raise AdapterError(
                "git",
                f"creating tag {name}",
                result.tail(5),
                status=result.exit_code,
                hint="set user.name/user.email (or GIT_COMMITTER_NAME/EMAIL) for annotated tags",
            )
        if existing is None:
            return TagOutcome(name=name, action="created")
        return TagOutcome(name=name, action="moved", previous_message=existing[1])

    def remote_url(self, remote: str) -> str | None:
        """The remote's URL without credentials (for the image's ``source`` label), None without a remote."""
        result = self._git("remote", "get-url", remote, check=False)
        if not result.ok or not result.stdout.strip():
            return None
        return re.sub(r"://[^/@\s]+@", "://", result.stdout.strip())

    def has_remote(self, remote: str) -> bool:
        return remote in self._git("remote").stdout.split()

    def push(self, name: str, *, remote: str, force: bool = False) -> None:
        args = ["push", remote, f"refs/tags/{name}:refs/tags/{name}"]
        if force:
            args.insert(1, "--force")
        result = self._git(*args, check=False, label="git push tag")
        if not result.ok:
            raise AdapterError("git", f"pushing tag {name} to {remote}", result.tail(5), status=result.exit_code)

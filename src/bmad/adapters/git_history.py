"""Git history through the ``git`` program (implements :class:`bmad.ports.source.SourceHistory`)."""

from __future__ import annotations

from pathlib import Path

from bmad.adapters._process import run_command
from bmad.core.errors import AdapterError
from bmad.ports.source import ChangedFile

_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitHistory:
    def __init__(self, repository: str | Path, *, timeout: float = 60.0) -> None:
        self.repository = Path(repository)
        self.timeout = timeout

    def _git(self, *args: str, check: bool = True) -> str:
        result = run_command(["git", "-C", str(self.repository), *args], system="git", timeout=self.timeout)
        if check and not result.ok:
            raise AdapterError("git", " ".join(args[:2]), result.tail(5))
        return result.stdout if result.ok else ""

    def head(self) -> str:
        return self._git("rev-parse", "HEAD").strip()

    def resolve(self, ref: str) -> str | None:
        result = run_command(
            ["git", "-C", str(self.repository), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            system="git",
            timeout=self.timeout,
        )
        return result.stdout.strip() if result.ok and result.stdout.strip() else None

    def changed_files(self, base: str | None, head: str) -> list[ChangedFile]:
        start = base or _EMPTY_TREE
        numstat = self._git("diff", "--numstat", "-z", "-M", start, head)
        status = self._git("diff", "--name-status", "-z", "-M", start, head)
        counts: dict[str, tuple[int, int]] = {}
        parts = numstat.split("\0")
        index = 0
        while index < len(parts):
            entry = parts[index]
            if not entry:
                index += 1
                continue
            fields = entry.split("\t")
            add = int(fields[0]) if fields[0].isdigit() else 0
            delete = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
            if len(fields) >= 3 and fields[2]:
                counts[fields[2]] = (add, delete)
                index += 1
            else:  # rename: "add\tdel\t" then old and new path
                new = parts[index + 2] if index + 2 < len(parts) else ""
                counts[new] = (add, delete)
                index += 3
        files: list[ChangedFile] = []
        tokens = [t for t in status.split("\0")]
        index = 0
        while index < len(tokens):
            code = tokens[index]
            if not code:
                index += 1
                continue
            letter = code[0]
            if letter in ("R", "C"):
                old, new = tokens[index + 1], tokens[index + 2]
                add, delete = counts.get(new, (0, 0))
                files.append(ChangedFile(new, letter, add, delete, old_path=old))
                index += 3
            else:
                path = tokens[index + 1]
                add, delete = counts.get(path, (0, 0))
                files.append(ChangedFile(path, letter, add, delete))
                index += 2
        return files

    def diff_text(self, base: str | None, head: str, paths: list[str], *, max_bytes: int = 200_000) -> str:
        if not paths:
            return ""
        text = self._git("diff", "--no-color", "-U0", base or _EMPTY_TREE, head, "--", *paths)
        return text[:max_bytes]

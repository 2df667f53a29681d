"""Finding and reading a Containerfile/Dockerfile: its stages, their bases, and the final stage's base image."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from bmad.config.build import BuildConfig
from bmad.core.datatypes import datatype

CANDIDATES = ("Containerfile", "Dockerfile")
_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


@datatype(frozen=True)
class Stage:
    """One ``FROM`` of a Containerfile: the base it starts from, its name and its line."""

    index: int
    base: str  # as written, with build args substituted
    name: str | None
    line: int


@datatype(frozen=True)
class ContainerfileInfo:
    """What BUILD's checks read from a Containerfile: its stages and its number of instructions."""

    path: Path
    stages: tuple[Stage, ...]
    instructions: int

    @property
    def multi_stage(self) -> bool:
        return len(self.stages) > 1

    def final_base(self) -> str | None:
        """The external image the final stage starts from (following ``FROM <stage>`` chains); None for scratch."""
        if not self.stages:
            return None
        names = {s.name.lower(): s for s in self.stages if s.name}
        stage = self.stages[-1]
        seen = set()
        while stage.base.lower() in names and stage.index not in seen:
            seen.add(stage.index)
            stage = names[stage.base.lower()]
        return None if stage.base.lower() == "scratch" else stage.base


def detect_containerfile(context: Path, configured: str | None, *, base: Path) -> Path | None:
    """The configured file (relative to ``base``) or the first of Containerfile/Dockerfile in the context."""
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else base / path
    for name in CANDIDATES:
        candidate = context / name
        if candidate.is_file():
            return candidate
    return None


def locate_containerfile(config: BuildConfig, repo: Path) -> tuple[Path, Path | None]:
    """The build context and the Containerfile BUILD uses (None when there is none)."""
    context = (repo / config.context).resolve()
    return context, detect_containerfile(context, config.containerfile, base=repo)


def containerfile_in_repo(config: BuildConfig, repo: Path) -> str | None:
    """The Containerfile's path relative to the repository (what SARIF results point at)."""
    _, path = locate_containerfile(config, repo)
    if path is None:
        return None
    try:
        return path.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return str(path)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Instructions with continuation lines joined and comments dropped, with their first line number."""
    result: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        result.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        result.append((start, buffer.strip()))
    return result


def substitute(value: str, args: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = str(match.group(1) or match.group(3))
        default = match.group(2)
        found = args.get(name)
        return found if found else (default or "")

    return _VAR.sub(replace, value)


def parse_containerfile(path: Path, build_args: Mapping[str, str] | None = None) -> ContainerfileInfo:
    text = path.read_text(encoding="utf-8", errors="replace")
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    count = 0
    for number, line in logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        count += 1
        if keyword == "ARG" and not stages:
            name, _, default = rest.strip().partition("=")
            global_args[name.strip()] = default.strip().strip("\"'")
        elif keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                continue
            merged = {**global_args, **(build_args or {})}
            base = substitute(words[0], merged)
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(index=len(stages), base=base, name=alias, line=number))
    return ContainerfileInfo(path=path, stages=tuple(stages), instructions=count)

"""What every renderer shares: cutting rendered YAML into documents, naming files as bmad.yaml's
folder sees them, and finding the line where an object starts in its source file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from bmad.core.yaml_nodes import safe_load

_SEPARATOR = re.compile(r"^---\s*$", re.MULTILINE)


def split_documents(text: str) -> Iterator[str]:
    """The non-empty YAML documents of a multi-document text (comments-only documents dropped)."""
    for part in _SEPARATOR.split(text):
        meaningful = [ln for ln in part.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if meaningful:
            yield part.strip("\n") + "\n"


def display_path(path: Path, base_dir: Path) -> str:
    """``path`` relative to bmad.yaml's folder when inside it, else as given."""
    try:
        return str(path.resolve().relative_to(base_dir.resolve()))
    except ValueError:
        return str(path)


def kind_and_name(text: str) -> tuple[str, str]:
    """The kind and metadata.name of one rendered document ("" when absent or not YAML)."""
    try:
        data = safe_load(text)
    except yaml.YAMLError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return str(data.get("kind") or ""), str(name or "")


def object_line(path: Path, kind: str, name: str) -> int | None:
    """The first line of the document in ``path`` that declares ``kind`` (named ``name`` when several
    do), or None when the file cannot say (unreadable, or the kind is itself templated)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    kind_line = re.compile(rf"^kind:\s*[\"']?{re.escape(kind)}[\"']?\s*(#.*)?$")
    name_line = re.compile(rf"^\s+name:\s*[\"']?{re.escape(name)}[\"']?\s*(#.*)?$")
    starts = [0] + [i + 1 for i, ln in enumerate(lines) if _SEPARATOR.match(ln)]
    candidates: list[tuple[int, bool]] = []
    for begin, end in zip(starts, [*starts[1:], len(lines) + 1], strict=True):
        block = lines[begin : end - 1] if end <= len(lines) else lines[begin:]
        if any(kind_line.match(ln) for ln in block):
            named = bool(name) and any(name_line.match(ln) for ln in block)
            candidates.append((begin + _first_content(block) + 1, named))
    named_starts = [line for line, named in candidates if named]
    if len(named_starts) == 1:
        return named_starts[0]
    return candidates[0][0] if len(candidates) == 1 else None


def _first_content(block: list[str]) -> int:
    for index, line in enumerate(block):
        if line.strip() and not line.lstrip().startswith("#"):
            return index
    return 0

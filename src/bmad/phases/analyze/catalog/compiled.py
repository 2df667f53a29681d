"""The catalog's entries as a run needs them, validated once and then read back from a JSON cache.

Validating the data files means importing pydantic and parsing ~90 KB of YAML on every run. The
first load validates them fully (:func:`~bmad.phases.analyze.catalog.loader.load_all`: a mistake is
a :class:`CatalogError` at file:line) and keeps the entries as JSON (never pickle: the cache must not
become code) in ``$XDG_CACHE_HOME/bmad/catalog.json`` (``~/.cache`` when unset), under a key made of
the data files' bytes, bmad's version and the code that turns them into entries (this package,
the evaluators' registrations, ``readiness_data``). A later load under the same key rebuilds the
entries from that JSON; a changed data file or module misses and is validated again, so a malformed
file is still a loud error. A cache that cannot be read, is not ours alone, or does not fit is ignored.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bmad import __version__
from bmad.core.digest import sha256
from bmad.core.files import read_keyed_json, user_cache_dir, write_atomic
from bmad.phases.analyze.catalog.data import data_texts
from bmad.phases.analyze.readiness_data import CatalogEntry, Category, Scope, Severity

_FORMAT = "bmad.catalog-cache/1"
_ANALYZE = Path(__file__).resolve().parent.parent
# the modules whose code decides an entry's fields (the evaluators give each entry its scope)
_CODE = (_ANALYZE / "catalog", _ANALYZE / "evaluators", _ANALYZE / "readiness_data.py")


def compiled_entries(texts: dict[Category, str] | None = None) -> tuple[CatalogEntry, ...]:
    """Every catalog entry in catalog order (``texts``: the data files, default bmad's own), from the
    cache when it was made from these files by this code."""
    texts = data_texts() if texts is None else texts
    key = cache_key(texts)
    entries = _cached(key)
    if entries is None:
        from bmad.phases.analyze.catalog.loader import load_all

        entries = tuple(check.entry for check in load_all(texts))
        _store(key, entries)
    return entries


def cache_file() -> Path:
    return user_cache_dir() / "catalog.json"


def cache_key(texts: Mapping[Category, str]) -> str:
    """The digest of what the entries depend on: the data files and the catalog's code."""
    digest = sha256(f"{_FORMAT}\0bmad {__version__}\0".encode())
    for category, text in texts.items():
        digest.update(f"\0{category.slug}\0".encode())
        digest.update(text.encode("utf-8"))
    for module in _code_files():
        stat = module.stat()
        digest.update(f"\0{module}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _code_files() -> list[Path]:
    files: list[Path] = []
    for path in _CODE:
        files += sorted(path.glob("*.py")) if path.is_dir() else [path]
    return files


def _cached(key: str) -> tuple[CatalogEntry, ...] | None:
    cached = read_keyed_json(cache_file(), key)
    if cached is None:
        return None
    try:
        return tuple(_entry(item) for item in cached["entries"])
    except (ValueError, KeyError, TypeError):
        return None


def _store(key: str, entries: tuple[CatalogEntry, ...]) -> None:
    """Keep ``entries`` (just validated) under ``key``, when JSON gives back exactly these entries."""
    try:
        text = json.dumps({"key": key, "entries": [_dump(entry) for entry in entries]}, separators=(",", ":"))
        exact = tuple(_entry(item) for item in json.loads(text)["entries"]) == entries
    except (ValueError, KeyError, TypeError):
        return  # a param JSON cannot hold as it is (a date, a tuple): not cached
    if exact:
        with contextlib.suppress(OSError):
            write_atomic(cache_file(), text, 0o600, durable=False)


def _dump(entry: CatalogEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "title": entry.title,
        "category": entry.category.value,
        "severity": entry.severity.value,
        "scope": entry.scope.value,
        "evaluator": entry.evaluator,
        "rationale": entry.rationale,
        "fix": entry.fix,
        "applies_to": list(entry.applies_to),
        "params": dict(entry.params),
        "guide": entry.guide,
    }


def _entry(item: dict[str, Any]) -> CatalogEntry:
    texts = [item[name] for name in ("id", "name", "title", "evaluator", "rationale", "fix")]
    if not all(isinstance(text, str) for text in texts) or not isinstance(item["guide"], bool):
        raise TypeError("a cached entry's field has the wrong type")
    kinds = item["applies_to"]
    if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
        raise TypeError("a cached entry's kinds have the wrong type")
    if not isinstance(item["params"], dict):
        raise TypeError("a cached entry's params have the wrong type")
    return CatalogEntry(
        id=item["id"],
        name=item["name"],
        title=item["title"],
        category=Category(item["category"]),
        severity=Severity(item["severity"]),
        scope=Scope(item["scope"]),
        evaluator=item["evaluator"],
        rationale=item["rationale"],
        fix=item["fix"],
        applies_to=tuple(item["applies_to"]),
        params=item["params"],
        guide=item["guide"],
    )

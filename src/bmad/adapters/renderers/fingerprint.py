"""A digest of everything a source's render reads, so that a render can be reused while none of it
changed: the chart folder and values files of a Helm source; the kustomization folder of a kustomize
source and, followed through ``resources``/``bases``/``components``, every local folder it builds on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import yaml

from bmad.config.base import config_json
from bmad.config.bundle_source import BundleSourceConfig
from bmad.core.digest import sha256
from bmad.core.yaml_nodes import safe_load

_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_FOLDER_KEYS = ("resources", "bases", "components")


def source_fingerprint(source: BundleSourceConfig, base_dir: Path) -> str:
    """sha256 over the paths and contents of the files rendering ``source`` reads."""
    digest = sha256(json.dumps(config_json(source), separators=(",", ":"), ensure_ascii=False).encode())
    for path in sorted(set(_files(_roots(source, base_dir)))):
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\1unreadable")
    return digest.hexdigest()


def _roots(source: BundleSourceConfig, base_dir: Path) -> list[Path]:
    if source.kind == "helm" and source.helm is not None:
        return [base_dir / source.helm.chart, *(base_dir / v for v in source.helm.values)]
    if source.kind == "kustomize" and source.kustomize:
        return _kustomize_folders(base_dir / source.kustomize, set())
    return []


def _kustomize_folders(folder: Path, seen: set[Path]) -> list[Path]:
    """``folder`` and the local folders its kustomization builds on (remote or missing ones skipped)."""
    folder = folder.resolve()
    if folder in seen or not folder.is_dir():
        return []
    seen.add(folder)
    found = [folder]
    for entry in _folder_entries(folder):
        found += _kustomize_folders(folder / entry, seen)
    return found


def _folder_entries(folder: Path) -> Iterator[str]:
    for name in _KUSTOMIZATIONS:
        path = folder / name
        if path.is_file():
            try:
                data = safe_load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                return  # the render reports it
            for key in _FOLDER_KEYS if isinstance(data, dict) else ():
                entries = data.get(key)
                yield from (e for e in entries if isinstance(e, str)) if isinstance(entries, list) else ()
            return


def _files(roots: list[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root.resolve()
        elif root.is_dir():
            yield from (p.resolve() for p in root.rglob("*") if p.is_file())

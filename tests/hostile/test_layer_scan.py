"""Layer secrets: fingerprints and locations do not depend on the scanner's temp folder, and the
scan starts no worker processes (issue 19)."""

from __future__ import annotations

import io
import json
import os
import secrets
import string
import tarfile
from pathlib import Path

from bmad.adapters.layer_secrets import DetectSecretsLayerScanner


def _aws_key() -> str:
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _archive(path: Path, files: dict[str, str]) -> Path:
    """A one-layer docker-archive holding ``files``."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as layer_tar:
        for name, text in files.items():
            _add(layer_tar, name, text.encode())
    config = {"rootfs": {"diff_ids": ["sha256:" + "1" * 64]}, "history": [{"created_by": "COPY . /srv"}]}
    with tarfile.open(path, mode="w") as tar:
        _add(tar, "manifest.json", json.dumps([{"Config": "config.json", "Layers": ["l1/layer.tar"]}]).encode())
        _add(tar, "config.json", json.dumps(config).encode())
        _add(tar, "l1/layer.tar", layer.getvalue())
    return path


def test_fingerprints_are_stable_across_scans_and_locations_are_image_paths(tmp_path: Path) -> None:
    """Guards: with several files in a layer the location was ``../../bmad-layers-XXXX/...`` and the
    fingerprint changed on every build, so an allow-list entry never matched."""
    key = _aws_key()
    files = {"srv/app.conf": f"[aws]\naws_access_key_id = {key}\n", "srv/notes.txt": "nothing\n", "etc/a": "x\n"}
    archive = _archive(tmp_path / "image.tar", files)
    scanner = DetectSecretsLayerScanner()
    children_before = _children()
    first = scanner.scan(archive, skip_diff_ids=frozenset(), max_file_bytes=1_000_000)
    second = scanner.scan(archive, skip_diff_ids=frozenset(), max_file_bytes=1_000_000)
    assert [f.location for f in first.findings] == ["/srv/app.conf"]
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in second.findings]
    assert first.files_scanned == 3
    assert _children() == children_before  # no worker pool inheriting bmad's signal handlers


def _children() -> set[str]:
    folder = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return set(folder.read_text().split()) if folder.exists() else set()

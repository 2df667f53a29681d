"""Secrets in image layers: a real image exported through the Podman API, walked layer by layer."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import string
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.containers import DockerEngineImages, EngineConnection
from bmad.adapters.layer_secrets import DetectSecretsLayerScanner, describe_instruction, scan_env
from bmad.core.redact import redact


def _aws_key() -> str:
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def _build(engine: Any, context: Path, containerfile: str, tag: str) -> Any:
    (context / "Containerfile").write_text(containerfile)
    image, _ = engine.images.build(path=str(context), dockerfile="Containerfile", tag=tag)
    return image


def test_describe_instruction_from_history() -> None:
    assert describe_instruction("/bin/sh -c #(nop) COPY file:" + "a" * 64 + " in /etc/x ") == "COPY file in /etc/x"
    assert describe_instruction('|1 GREETING=yo /bin/sh -c ["/bin/busybox", "true"]') == 'RUN ["/bin/busybox", "true"]'
    assert describe_instruction("COPY . /app # buildkit") == "COPY . /app # buildkit"
    assert describe_instruction(None) is None


def test_env_secrets_by_detector_and_by_name() -> None:
    key = _aws_key()
    found = scan_env(["PATH=/usr/bin", f"AWS_ACCESS_KEY_ID={key}", "DB_PASSWORD=s3cr3t-passw0rd", "MODE=prod"])
    assert {f.location for f in found} == {"config:Env[AWS_ACCESS_KEY_ID]", "config:Env[DB_PASSWORD]"}
    assert all(key not in f.masked and "s3cr3t-passw0rd" not in f.masked for f in found)
    assert key not in redact(f"env {key} leaked")  # registered for redaction


@pytest.mark.engine
def test_layers_are_named_and_base_layers_can_be_skipped(engine: Any, stack: Any, tmp_path: Path) -> None:
    key = _aws_key()
    context = tmp_path / "ctx"
    context.mkdir()
    shutil.copy("/bin/busybox", context / "busybox")
    (context / "app.conf").write_text(f"[aws]\naws_access_key_id = {key}\n")
    (context / "notes.txt").write_text("nothing to see\n")
    image = _build(
        engine,
        context,
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY notes.txt /notes.txt\nCOPY app.conf /srv/app.conf\n"
        f'ENV TOKEN="{key}"\n',
        "localhost/bmad-test-layer-secrets:1",
    )
    images = DockerEngineImages(EngineConnection(stack.docker_host))
    archive = images.export(image.id, tmp_path / "image.tar")
    layers = image.attrs["RootFS"]["Layers"]
    scanner = DetectSecretsLayerScanner()

    result = scanner.scan(archive, skip_diff_ids=frozenset(), max_file_bytes=5_000_000)
    assert result.layers_total == 3 and result.layers_scanned == 3
    by_location = {f.location: f for f in result.findings}
    in_file = by_location["/srv/app.conf"]
    assert in_file.rule == "aws-access-key" and in_file.layer == layers[2] and in_file.layer_index == 2
    assert in_file.created_by is not None and "/srv/app.conf" in in_file.created_by
    assert in_file.line == 2
    assert "config:Env[TOKEN]" in by_location
    assert result.files_skipped >= 1  # the busybox binary is not text
    assert all(key not in str(f) for f in result.findings)

    skipped = scanner.scan(archive, skip_diff_ids=frozenset(layers[:2]), max_file_bytes=5_000_000)
    assert skipped.layers_scanned == 1 and skipped.layers_skipped == layers[:2]
    # The fingerprint does not depend on the layer: an allow-list entry survives a rebuild.
    assert {f.fingerprint for f in skipped.findings} == {f.fingerprint for f in result.findings}
    engine.images.remove(image.id, force=True)


@pytest.mark.engine
def test_a_file_name_that_is_not_utf8_is_named_as_ls_b_shows_it(engine: Any, stack: Any, tmp_path: Path) -> None:
    """An image's file whose name has a byte that is not UTF-8 (tarfile reads it as a lone surrogate):
    before, the fingerprint's ``.encode()`` stopped BUILD's secrets check with UnicodeEncodeError."""
    key = _aws_key()
    context = tmp_path / "ctx"
    context.mkdir()
    (context / os.fsdecode(b"app-\xfe.conf")).write_text(f"[aws]\naws_access_key_id = {key}\n")
    image = _build(engine, context, "FROM scratch\nCOPY . /srv/\n", "localhost/bmad-test-layer-names:1")
    archive = DockerEngineImages(EngineConnection(stack.docker_host)).export(image.id, tmp_path / "image.tar")
    result = DetectSecretsLayerScanner().scan(archive, skip_diff_ids=frozenset(), max_file_bytes=5_000_000)
    engine.images.remove(image.id, force=True)
    (found,) = [f for f in result.findings if f.rule == "aws-access-key"]
    assert found.location == "/srv/app-\\xfe.conf" and found.line == 2, result
    json.dumps(dataclasses.asdict(found), ensure_ascii=False).encode("utf-8")  # every writer can encode it

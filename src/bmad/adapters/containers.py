"""Images through the Docker Engine API (Docker or Podman's compatible service), with the ``docker`` SDK.

Build output is streamed line by line (redacted) to the caller. Push errors arrive as ``error``
items in the engine's stream (not as exceptions): they are turned into AdapterError, temporary
unless the registry refused the credentials.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bmad.adapters.engine_client import connect_engine
from bmad.adapters.registry import RegistryAuth, is_loopback
from bmad.core.errors import AdapterError, Unreachable
from bmad.core.redact import redact
from bmad.core.spans import SpanKind, streamed, waiting
from bmad.ports.images import BuildOutcome, BuildRequest, HistoryStep, ImageInfo, LineSink, PushOutcome

_PERMANENT_PUSH_ERRORS = ("unauthorized", "denied", "authentication required", "forbidden", "name invalid")


class EngineConnection:
    """Connects lazily (a phase that never touches the engine never needs one) and once."""

    def __init__(self, docker_host: str | None = None, *, timeout: float = 600.0) -> None:
        self.docker_host = docker_host
        self.timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = connect_engine(self.docker_host, timeout=self.timeout)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class DockerEngineImages:
    """Implements :class:`bmad.ports.images.ImageEngine`."""

    def __init__(
        self,
        connection: EngineConnection,
        *,
        auth: RegistryAuth | None = None,
        tls_verify: bool | None = None,
    ) -> None:
        self._connection = connection
        self._auth = auth
        self._tls_verify = tls_verify

    def build(self, request: BuildRequest, *, on_line: LineSink) -> BuildOutcome:
        from docker import utils as docker_utils

        client = self._connection.client()
        labels = dict(request.labels) or None
        text = request.containerfile.read_text(encoding="utf-8")
        if labels and request.target is None:
            # One LABEL instruction in a fixed order: the API's labels become one step per label in
            # random order on Podman, so identical builds would never share a cached image.
            text = with_labels(text, labels)
            labels = None
        # The upload is made here (the SDK mangles a Containerfile that is not inside the context):
        # the context minus .dockerignore/.containerignore, plus the Containerfile under a private name.
        name = f".bmad-containerfile-{os.getpid()}"
        with tempfile.TemporaryFile() as upload:
            docker_utils.tar(
                str(request.context),
                exclude=_ignore_patterns(request.context),
                dockerfile=(name, text),
                fileobj=upload,
            )
            upload.seek(0)
            return self._build(client, request, upload, name, labels, on_line)

    def _build(
        self,
        client: Any,
        request: BuildRequest,
        upload: Any,
        dockerfile: str,
        labels: dict[str, str] | None,
        on_line: LineSink,
    ) -> BuildOutcome:
        from docker.errors import APIError, DockerException

        image_id: str | None = None
        error: str | None = None
        try:
            stream = client.api.build(
                fileobj=upload,
                custom_context=True,
                dockerfile=dockerfile,
                tag=request.tags[0],
                buildargs=dict(request.build_args) or None,
                target=request.target,
                labels=labels,
                rm=True,
                forcerm=True,
                decode=True,
                timeout=int(request.timeout_seconds),
            )
            for item in streamed(stream, SpanKind.CONTAINER_ENGINE, "image build"):
                if not isinstance(item, dict):
                    continue
                if "error" in item or "errorDetail" in item:
                    detail = item.get("errorDetail") or {}
                    error = str(item.get("error") or detail.get("message") or "build failed")
                    _emit(on_line, error)
                    continue
                aux = item.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
                text = item.get("stream") or item.get("status")
                if text:
                    _emit(on_line, str(text))
        except APIError as exc:
            error = str(exc.explanation or exc)
            _emit(on_line, error)
        except DockerException as exc:  # transport problems mid-build
            raise Unreachable("container engine", "building the image", str(exc)) from None
        if error is not None:
            return BuildOutcome(ok=False, image_id=None, error=redact(error)[:2000])
        try:
            image = client.images.get(request.tags[0])
        except DockerException as exc:
            return BuildOutcome(ok=False, image_id=None, error=redact(f"built image not found: {exc}")[:2000])
        for extra in request.tags[1:]:
            repository, _, tag = extra.rpartition(":")
            image.tag(repository, tag)
        return BuildOutcome(ok=True, image_id=image_id or image.id)

    def inspect(self, ref: str) -> ImageInfo | None:
        from docker.errors import ImageNotFound

        client = self._connection.client()
        try:
            image = client.images.get(ref)
        except ImageNotFound:
            return None
        attrs = image.attrs
        config = attrs.get("Config") or {}
        history = []
        for step in reversed(image.history()):  # the engine lists newest first
            size = step.get("Size")
            history.append(
                HistoryStep(
                    created_by=redact(str(step.get("CreatedBy") or "")),
                    empty_layer=not size,
                    size_bytes=size if isinstance(size, int) else None,
                )
            )
        return ImageInfo(
            id=str(image.id),
            size_bytes=int(attrs.get("Size") or 0),
            tags=tuple(image.tags),
            diff_ids=tuple((attrs.get("RootFS") or {}).get("Layers") or ()),
            history=tuple(history),
            env=tuple(config.get("Env") or ()),
            labels=dict(config.get("Labels") or {}),
        )

    def export(self, ref: str, dest: Path) -> Path:
        from docker.errors import DockerException

        client = self._connection.client()
        try:
            image = client.images.get(ref)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("wb") as handle, waiting(SpanKind.CONTAINER_ENGINE, f"export {ref}"):
                for chunk in image.save(named=False):  # the engine streams the archive as it writes it
                    handle.write(chunk)
        except DockerException as exc:
            raise AdapterError("container engine", f"exporting {ref}", str(exc)) from None
        dest.chmod(0o600)
        return dest

    def push(self, repository: str, tag: str, *, on_line: LineSink) -> PushOutcome:
        from docker.errors import APIError, DockerException

        client = self._connection.client()
        api = client.api
        registry = repository.split("/", 1)[0]
        params: dict[str, str] = {"tag": tag}
        tls_verify = self._tls_verify if self._tls_verify is not None else not is_loopback(registry)
        if not tls_verify:
            params["tlsVerify"] = "false"  # Podman extension; Docker ignores it (loopback is insecure there)
        headers: dict[str, str] = {}
        if self._auth is not None:
            from docker import auth as docker_auth

            headers["X-Registry-Auth"] = docker_auth.encode_header(self._auth.as_engine_auth())
        digest: str | None = None
        try:
            response = api._post_json(
                api._url("/images/{0}/push", repository), None, headers=headers, stream=True, params=params
            )
            api._raise_for_status(response)
            pushed = api._stream_helper(response, decode=True)
            for item in streamed(pushed, SpanKind.REGISTRY, f"push {repository}:{tag}"):
                if not isinstance(item, dict):
                    continue
                if "error" in item or "errorDetail" in item:
                    detail = item.get("errorDetail") or {}
                    message = redact(str(item.get("error") or detail.get("message") or "push failed"))
                    permanent = any(word in message.lower() for word in _PERMANENT_PUSH_ERRORS)
                    raise AdapterError("registry", f"pushing {repository}:{tag}", message, temporary=not permanent)
                status = str(item.get("status") or "")
                if status:
                    _emit(on_line, status)
                aux = item.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
                elif "digest: sha256:" in status:
                    digest = "sha256:" + status.split("digest: sha256:", 1)[1].split()[0]
        except APIError as exc:
            code = exc.status_code
            raise AdapterError(
                "container engine",
                f"pushing {repository}:{tag}",
                str(exc.explanation or exc),
                status=code,
                temporary=code is None or code >= 500,
            ) from None
        except DockerException as exc:
            raise Unreachable("container engine", f"pushing {repository}:{tag}", str(exc)) from None
        return PushOutcome(repository=repository, tag=tag, digest=digest)


def _ignore_patterns(context: Path) -> list[str] | None:
    for name in (".dockerignore", ".containerignore"):
        path = context / name
        if path.is_file():
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            return [line for line in lines if line and not line.startswith("#")]
    return None


def with_labels(containerfile: str, labels: dict[str, str]) -> str:
    """The Containerfile with one trailing ``LABEL`` instruction (keys sorted, values JSON-quoted)."""
    pairs = " ".join(
        f"{json.dumps(key, ensure_ascii=False)}={json.dumps(value, ensure_ascii=False)}"
        for key, value in sorted(labels.items())
    )
    return containerfile.rstrip("\n") + f"\nLABEL {pairs}\n"


def _emit(on_line: Callable[[str], None], text: str) -> None:
    for line in text.splitlines():
        if line.strip():
            on_line(redact(line.rstrip()))

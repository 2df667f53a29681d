"""A container registry over the OCI distribution HTTP API, and where its credentials come from.

Digests are read with both the OCI and the Docker v2 manifest media types in ``Accept``:
without the Docker one, distribution 2.x down-converts to a signed schema-1 manifest whose
digest differs from what was pushed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import field
from pathlib import Path
from typing import Any

from bmad.adapters._http import HttpClient
from bmad.config.build import PushConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, ConfigError
from bmad.core.redact import register_secret
from bmad.ports.registry import ManifestInfo

MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")


def is_loopback(address: str) -> bool:
    return bool(_LOOPBACK.match(address))


@datatype(frozen=True)
class RegistryAuth:
    """Registry credentials and where they were read from (the password never shown)."""

    username: str
    password: str = field(repr=False)
    source: str = ""  # where it came from (env names / config file), for evidence

    def as_engine_auth(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


def docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG")
    return Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"


def auth_from_docker_config(registry: str, path: Path | None = None) -> RegistryAuth | None:
    """Basic credentials for ``registry`` in a docker config.json (``auths.<host>.auth``), if any."""
    file = path or docker_config_path()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"docker config cannot be read: {exc}", file=str(file)) from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return None
    for key in (registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/"):
        entry = auths.get(key)
        if isinstance(entry, dict) and entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, TypeError):  # not base64 (binascii.Error), not UTF-8, or not a text at all
                raise ConfigError(f"auths.{key}.auth is not base64 'user:password'", file=str(file)) from None
            register_secret(password)
            return RegistryAuth(user, password, source=f"{file} auths.{key}")
    return None


def resolve_auth(registry: str, config: PushConfig, *, base_dir: Path | None = None) -> RegistryAuth | None:
    """Credentials by precedence: bmad.yaml SecretRefs, REGISTRY_USERNAME/PASSWORD, docker config.json."""
    if config.username is not None or config.password is not None:
        if config.username is None or config.password is None:
            raise ConfigError("build.push needs both 'username' and 'password' (or neither)", field="build.push")
        user = config.username.resolve(base_dir)
        password = config.password.resolve(base_dir)
        return RegistryAuth(user, password, source=f"{config.username.describe()} / {config.password.describe()}")
    user_env, password_env = os.environ.get("REGISTRY_USERNAME"), os.environ.get("REGISTRY_PASSWORD")
    if user_env and password_env:
        register_secret(password_env)
        return RegistryAuth(user_env, password_env, source="env:REGISTRY_USERNAME / env:REGISTRY_PASSWORD")
    return auth_from_docker_config(registry)


class RegistryClient:
    """Implements :class:`bmad.ports.registry.Registry` (basic auth and bearer-token challenges)."""

    def __init__(
        self, address: str, *, auth: RegistryAuth | None = None, scheme: str | None = None, timeout: float = 10.0
    ) -> None:
        self.address = address
        scheme = scheme or ("http" if is_loopback(address) else "https")
        self._auth = auth
        self._http = HttpClient("registry", f"{scheme}://{address}", timeout=timeout)
        self._tokens: dict[str, str] = {}

    def ping(self) -> None:
        self._request("GET", "/v2/", scope=None, expect=(200, 401), action="checking /v2/")

    def manifest(self, repository: str, reference: str) -> ManifestInfo:
        action = f"reading manifest {repository}:{reference}"
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=f"repository:{repository}:pull",
            headers={"Accept": MANIFEST_ACCEPT},
            action=action,
        )
        header = response.headers.get("Docker-Content-Digest")
        computed = "sha256:" + hashlib.sha256(response.content).hexdigest()
        if header and header != computed and header.startswith("sha256:"):
            raise AdapterError(
                "registry", action, f"Docker-Content-Digest {header} does not match the manifest body ({computed})"
            )
        media = response.headers.get("Content-Type", "")
        if "prettyjws" in media or "manifest.v1" in media:
            raise AdapterError("registry", action, f"the registry answered a schema-1 manifest ({media})")
        try:
            body = json.loads(response.content)
        except ValueError:
            raise AdapterError("registry", action, "the manifest is not JSON") from None
        config = body.get("config") if isinstance(body, dict) else None
        layers = body.get("layers") if isinstance(body, dict) else None
        return ManifestInfo(
            digest=str(header or computed),
            media_type=str(body.get("mediaType") or media) if isinstance(body, dict) else media,
            config_digest=str(config["digest"]) if isinstance(config, dict) and config.get("digest") else None,
            layers=len(layers) if isinstance(layers, list) else 0,
        )

    def manifest_digest(self, repository: str, reference: str) -> str:
        return self.manifest(repository, reference).digest

    def _request(
        self, method: str, path: str, *, scope: str | None, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if scope and scope in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        elif self._auth is not None:
            kwargs["auth"] = (self._auth.username, self._auth.password)
        response = self._http.request(method, path, headers=headers, expect=(*expect, 401), **kwargs)
        if response.status_code != 401 or 401 in expect:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        if not challenge.lower().startswith("bearer") or scope is None:
            raise AdapterError(
                "registry", kwargs.get("action", path), "authentication required", status=401, hint=_AUTH_HINT
            )
        self._tokens[scope] = self._token(challenge, scope)
        headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        kwargs.pop("auth", None)
        return self._http.request(method, path, headers=headers, expect=expect, **kwargs)

    def _token(self, challenge: str, scope: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if not realm:
            raise AdapterError("registry", "authenticating", "bearer challenge without realm")
        query = {"service": params.get("service", ""), "scope": scope}
        auth = (self._auth.username, self._auth.password) if self._auth else None
        data = self._http.get_json(realm, params=query, auth=auth, action="fetching a registry token")
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise AdapterError("registry", "fetching a registry token", "no token in the answer", hint=_AUTH_HINT)
        register_secret(str(token))
        return str(token)

    def close(self) -> None:
        self._http.close()


_AUTH_HINT = (
    "give credentials with build.push.username/password ({env: NAME}), REGISTRY_USERNAME/REGISTRY_PASSWORD, "
    "or 'docker login' (~/.docker/config.json)"
)

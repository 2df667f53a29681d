"""Who may talk to the dashboard: loopback by default, a token anywhere else, compared in constant time."""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from http.cookies import CookieError, SimpleCookie
from pathlib import Path

from bmad.core.datatypes import datatype
from bmad.core.errors import UsageError

TOKEN_COOKIE = "bmad_token"  # noqa: S105 (the cookie's name, not a secret)
MIN_TOKEN_LENGTH = 16
_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~+/=-]+")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(token_file: Path | None, token_env: str | None) -> str | None:
    """The token from ``token_file`` (first line) or the environment variable ``token_env``."""
    if token_file is not None and token_env is not None:
        raise UsageError("give the token as a file or as an environment variable, not both")
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read the token file {token_file}: {exc.strerror}") from None
    elif token_env is not None:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise UsageError(f"the environment variable {token_env} (the token) is not set")
    else:
        return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise UsageError(f"the token is shorter than {MIN_TOKEN_LENGTH} characters")
    if not _TOKEN_CHARACTERS.fullmatch(token):
        raise UsageError("the token may hold only letters, digits and . _ ~ + / = - (it travels in a header)")
    return token


def require_safe_bind(host: str, token: str | None) -> None:
    if token is None and not is_loopback(host):
        raise UsageError(
            f"refusing to listen on {host} without a token: the dashboard shows every release",
            hint="give --token-file (or --token-env), or listen on 127.0.0.1",
        )


@datatype(frozen=True)
class Access:
    """The server's rules: the token (None on loopback without one) and the ``Host`` names accepted."""

    token: str | None
    allowed_hosts: frozenset[str] | None  # None: any (a token guards the server)

    @classmethod
    def for_bind(cls, host: str, port: int, token: str | None) -> Access:
        if token is not None:
            return cls(token, None)
        names = ("127.0.0.1", "localhost", "[::1]")
        return cls(None, frozenset({*names, *(f"{n}:{port}" for n in names)}))

    def host_ok(self, host_header: str | None) -> bool:
        """Against DNS rebinding: a loopback server answers only to loopback host names."""
        return self.allowed_hosts is None or (host_header or "").lower() in self.allowed_hosts

    def token_ok(self, presented: str | None) -> bool:
        if self.token is None:
            return True
        if presented is None:
            return False
        return hmac.compare_digest(presented.encode(), self.token.encode())

    @staticmethod
    def presented(authorization: str | None, cookie: str | None) -> str | None:
        """The token of a request: ``Authorization: Bearer …``, else the cookie set after ``?token=``."""
        if authorization and authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        if cookie:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(cookie)
            except CookieError:  # a malformed Cookie header is no token
                return None
            morsel = jar.get(TOKEN_COOKIE)
            return morsel.value if morsel is not None else None
        return None

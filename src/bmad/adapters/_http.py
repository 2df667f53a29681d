"""The one place bmad dials HTTP for control-plane calls (Prometheus, registry, Grafana ...).

Maps transport failures to :class:`~bmad.core.errors.Unreachable` and error statuses to
:class:`~bmad.core.errors.AdapterError` (5xx and 429 temporary, others permanent), with the
response body cut short and redacted. Retries with exponential backoff and jitter are opt-in.
Every request (also those of the Docker SDK's session, see :func:`record_waits`) is recorded as a
span of the phase that made it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from bmad.core.errors import AdapterError, Unreachable
from bmad.core.redact import redact
from bmad.core.spans import kind_of, sleeper, waiting

DEFAULT_TIMEOUT = 10.0


class HttpClient:
    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        auth: tuple[str, str] | None = None,
        verify: bool | str = True,
        cert: tuple[str, str] | None = None,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._headers = dict(headers or {})
        self._verify = verify  # False, True, or the path of a CA bundle
        self._cert = cert  # client certificate and key files
        self._auth = auth
        self._made: Any = None
        self._making = threading.Lock()
        self._retry_pause = sleeper(kind_of(system), f"{system}: backing off before a retry")

    @property
    def _session(self) -> Any:
        """The ``requests.Session``, made at the first request: building an adapter imports no HTTP stack."""
        with self._making:
            if self._made is None:
                import requests

                session = requests.Session()
                session.headers.update(self._headers)
                session.verify = self._verify
                if self._cert is not None:
                    session.cert = self._cert
                if self._auth is not None:
                    session.auth = self._auth
                record_waits(session, self.system)
                self._made = session
            return self._made

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        action: str | None = None,
        expect: tuple[int, ...] = (200,),
        retries: int = 0,
        backoff: float = 0.5,
        sleep: Callable[[float], None] | None = None,
        on_retry: Callable[[int, AdapterError], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send a request; return the ``requests.Response`` when its status is in ``expect``
        (``sleep`` pauses between retries: by default a wait on this system)."""
        import requests

        what = action or f"{method} {path}"
        kwargs.setdefault("timeout", self.timeout)
        attempt = 0
        while True:
            try:
                response = self._session.request(method, self.url(path), **kwargs)
            except requests.RequestException as exc:
                error: AdapterError = Unreachable(self.system, what, _short(exc), hint=f"is {self.base_url} up?")
            else:
                if response.status_code in expect:
                    return response
                error = AdapterError(
                    self.system,
                    what,
                    _short(response.text),
                    status=response.status_code,
                    temporary=response.status_code >= 500 or response.status_code == 429,
                )
            if not error.temporary or attempt >= retries:
                raise error
            attempt += 1
            if on_retry is not None:
                on_retry(attempt, error)
            delay = backoff * (2 ** (attempt - 1))
            import random  # a retry's jitter: the first try does not load it

            (sleep or self._retry_pause)(delay + random.uniform(0, delay / 2))

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise AdapterError(self.system, kwargs.get("action") or f"GET {path}", "answer is not JSON") from None

    def close(self) -> None:
        if self._made is not None:
            self._made.close()


def record_waits(session: Any, system: str) -> None:
    """Record each request sent through ``session`` (a ``requests.Session``) as a span of ``system``."""
    for prefix, adapter in list(session.adapters.items()):
        session.mount(prefix, _waiting_adapter(adapter, system))


def _waiting_adapter(inner: Any, system: str) -> Any:
    """A transport adapter that sends through ``inner`` inside a span, which ends once the answer's body
    is read (the session would read it right after) or, for a streamed answer, once its headers came."""
    from requests.adapters import BaseAdapter

    kind = kind_of(system)

    class WaitingAdapter(BaseAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            with waiting(kind, f"{request.method} {url_path(request.url)}"):
                response = inner.send(request, *args, **kwargs)
                if not kwargs.get("stream", False):
                    response.content  # noqa: B018 (reads the body, as Session.send does after this)
                return response

        def close(self) -> None:
            inner.close()

    return WaitingAdapter()


def url_path(url: str) -> str:
    """The path of ``url`` (no host, no query: a query may carry a token)."""
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def _short(value: object, limit: int = 300) -> str:
    text = redact(str(value)).strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."

"""A namespace's objects of one kind kept current by a watch, as client-go's informers keep them.

List once, then watch from the list's ``resourceVersion`` with bookmarks; an ``ERROR`` event or an
answer with 410 (the version is older than the server keeps) means list again and watch from there
("API Concepts": efficient detection of changes). 429, 5xx and dropped streams are retried with
back-off. A server that does not stream watch events leaves :attr:`unsupported` set: the caller polls.
"""

from __future__ import annotations

import threading
from typing import Any

from bmad.core.errors import AdapterError

from .client import Gone, KubeApi, ServerError, WatchUnsupported

WATCH_SECONDS = 30  # the server ends each watch after this; the informer starts the next one


class Informer:
    """One kind in one namespace (optionally a label selector): a cache and a change signal."""

    def __init__(self, api: KubeApi, path: str, changed: threading.Event, *, selector: str | None = None) -> None:
        self.api = api
        self.path = path
        self.selector = selector
        self.changed = changed
        self.unsupported = ""
        self.relists = 0
        self._cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch {path}", daemon=True)
        self._version = ""

    def start(self) -> Informer:
        """The first list happens here (its errors are the caller's); watching goes on in a thread."""
        self._version = self._list()
        self._thread.start()
        return self

    def stop(self) -> None:
        """The watch ends at its next event, bookmark or timeout (closing a stream another thread
        reads would wait for that read anyway); the thread is a daemon."""
        self._stop.set()

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._cache.values())

    def _list(self) -> str:
        query = [("labelSelector", self.selector)] if self.selector else []
        listing = self.api.request("GET", self.path, query=query) or {}
        with self._lock:
            self._cache = {str(o["metadata"]["name"]): o for o in listing.get("items") or []}
        self.changed.set()
        return str((listing.get("metadata") or {}).get("resourceVersion") or "")

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._watch_once()
                failures = 0
            except Gone:
                self.relists += 1
                self._version = self._list()
            except WatchUnsupported as exc:
                self.unsupported = exc.detail
                self.changed.set()
                return
            except AdapterError as exc:
                if not exc.temporary:
                    self.unsupported = exc.message
                    self.changed.set()
                    return
                failures += 1
                self._stop.wait(min(0.25 * 2.0**failures, 5.0))

    def _watch_once(self) -> None:
        query = [("allowWatchBookmarks", "true"), ("timeoutSeconds", str(WATCH_SECONDS))]
        if self.selector:
            query.append(("labelSelector", self.selector))
        for event in self.api.watch(self.path, self._version, query=query).events():
            if self._stop.is_set():
                return
            kind, obj = str(event.get("type")), event.get("object") or {}
            if kind == "ERROR":
                code = int(obj.get("code") or 500)
                raise (Gone if code == 410 else ServerError)(f"watch {self.path}", code, self.api.status_of(obj))
            self._version = str((obj.get("metadata") or {}).get("resourceVersion") or self._version)
            if kind == "BOOKMARK":
                continue
            name = str((obj.get("metadata") or {}).get("name"))
            with self._lock:
                if kind == "DELETED":
                    self._cache.pop(name, None)
                else:
                    self._cache[name] = obj
            self.changed.set()


def wait_for_change(changed: threading.Event, seconds: float) -> None:
    """Block until an informer saw a change (or ``seconds`` pass), then re-arm."""
    changed.wait(seconds)
    changed.clear()

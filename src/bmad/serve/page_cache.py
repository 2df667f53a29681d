"""Rendered pages, kept until the ledger changes or the minute turns.

A page is reused only for the same path and query, the same snapshot generation (nothing was
recorded since, see :mod:`bmad.serve.snapshot`) and the same minute of the ledger's clock (the
ages a page shows, "12 min ago", stay right to the minute). Pages of a running release are never
kept: their durations move every second.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from bmad.core.datatypes import datatype

MAX_PAGES = 256


@datatype(frozen=True)
class PageKey:
    """What a kept page was rendered from."""

    path: str
    query: tuple[tuple[str, str], ...]
    generation: int
    minute: datetime

    @classmethod
    def of(cls, path: str, params: dict[str, str], generation: int, now: datetime) -> PageKey:
        return cls(path, tuple(sorted(params.items())), generation, now.replace(second=0, microsecond=0))


class PageCache:
    """At most ``size`` rendered pages, the least recently used dropped first; thread-safe."""

    def __init__(self, size: int = MAX_PAGES) -> None:
        self._size = size
        self._pages: OrderedDict[PageKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def page(self, key: PageKey, render: Callable[[], bytes]) -> bytes:
        """The kept page of ``key``, else ``render()``, kept."""
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        page = render()
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)
        return page

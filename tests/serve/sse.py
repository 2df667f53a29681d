"""A small server-sent-events reader for the live-update tests."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


class EventStream:
    """Reads ``event:``/``data:`` blocks from an open ``text/event-stream`` response."""

    def __init__(self, url: str, *, timeout: float = 15.0) -> None:
        self.response = urllib.request.urlopen(url, timeout=timeout)
        assert self.response.headers["Content-Type"].startswith("text/event-stream")

    def next_event(self) -> tuple[str, dict[str, Any]]:
        """The next named event with its JSON data (comments and ``retry:`` lines are skipped)."""
        name, data = "", ""
        while True:
            line = self.response.readline().decode("utf-8")
            if not line:
                raise EOFError("the stream ended")
            line = line.rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and name and data:
                return name, json.loads(data)

    def close(self) -> None:
        self.response.close()

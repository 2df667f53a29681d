"""Who owns a lock: the host it runs on (whether its process is alive: :mod:`bmad.core.procs`)."""

from __future__ import annotations

import os


def this_host() -> str:
    """The host name, as ``socket.gethostname()`` gives it (on POSIX the kernel's node name: no
    ``socket`` import, ~2 ms a command)."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket

    return socket.gethostname()

"""Who owns a lock: the host it runs on (``this_host``), and whether its process is alive
(``pid_alive``, from :mod:`bmad.core.procs`)."""

from __future__ import annotations

import os

from bmad.core.procs import pid_alive

__all__ = ["pid_alive", "this_host"]


def this_host() -> str:
    """The host name, as ``socket.gethostname()`` gives it (on POSIX the kernel's node name: no
    ``socket`` import, ~2 ms a command)."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket

    return socket.gethostname()

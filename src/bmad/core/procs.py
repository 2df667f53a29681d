"""Whether a process is alive: by pid, on this host (a zombie counts as dead)."""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process here: ``/proc`` tells a zombie from a live one; elsewhere a
    signal 0 (a process of another user counts as alive)."""
    if pid <= 0:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            content = stat.read_text()
        except OSError:
            return False
        # state is the field after the parenthesised command name
        state = content.rsplit(")", 1)[-1].split()[0] if ")" in content else "?"
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

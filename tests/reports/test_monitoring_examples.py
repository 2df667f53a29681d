"""The example's alert rules tell the on-call commands that exist, with options that exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

MONITORING = Path(__file__).resolve().parents[2] / "examples" / "hello" / "monitoring"


def _annotated_commands() -> list[str]:
    commands = []
    for path in sorted(MONITORING.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8")).get("groups", []):
            for rule in group.get("rules", []):
                for text in (rule.get("annotations") or {}).values():
                    commands += re.findall(r"\bbmad (?:[a-z-]+)(?: (?:-{1,2}[a-z-]+|[A-Za-z][\w-]*))*", str(text))
    return commands


def test_alert_runbooks_name_real_commands() -> None:
    """Guards against "bmad deploy --rollback" (no such option): each command's subcommand and options exist."""
    commands = _annotated_commands()
    assert any(c.startswith("bmad rollback hello -e") for c in commands), commands
    for command in commands:
        words = command.split()
        done = subprocess.run(
            [sys.executable, "-m", "bmad", words[1], "--help"], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, (command, done.stderr)
        for option in (w for w in words[2:] if w.startswith("-")):
            assert re.search(rf"(^|[\s,]){re.escape(option)}\b", done.stdout), (command, option)

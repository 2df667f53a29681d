"""Every ``@dataclass`` class in bmad has a docstring, so the ``bmad`` command never imports ``inspect``.

The stdlib decorator calls ``inspect.signature(cls)`` only to write a docstring for a class that has
none; that import (with ``ast``, ``dis`` and ``tokenize``) costs ~8 ms per command, which
:mod:`bmad.core.deferred_imports` saves by keeping ``inspect`` a stand-in until something reads it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers import REPO_ROOT

SOURCE = REPO_ROOT / "src" / "bmad"

# the modules an `analyze` run loads, after the command line's own
ANALYZE_MODULES = (
    "bmad.engine.wiring.analyze",
    "bmad.phases.analyze.phase",
    "bmad.ports.metrics",
    "bmad.engine.runner",
    "bmad.reports.outputs",
)


def _is_dataclass_decorator(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id == "dataclass"
    return isinstance(target, ast.Attribute) and target.attr == "dataclass"


def undocumented_dataclasses(root: Path) -> list[str]:
    """``file:line:class`` of each class under ``root`` decorated ``@dataclass`` with no docstring."""
    missing: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ClassDef)
                and any(_is_dataclass_decorator(d) for d in node.decorator_list)
                and ast.get_docstring(node) is None
            ):
                missing.append(f"{os.path.relpath(path, REPO_ROOT)}:{node.lineno}:{node.name}")
    return missing


def test_every_dataclass_has_a_docstring() -> None:
    """Guards the ~8 ms ``inspect`` import: a ``@dataclass`` without a docstring makes the stdlib
    decorator import ``inspect`` (to write one) as soon as its module is imported by the command."""
    assert undocumented_dataclasses(SOURCE) == []


def test_the_scan_finds_an_undocumented_dataclass(tmp_path: Path) -> None:
    """The scan above sees every spelling of the decorator, and passes a documented class."""
    (tmp_path / "sample.py").write_text(
        textwrap.dedent(
            '''
            import dataclasses
            from dataclasses import dataclass

            @dataclass
            class Bare:
                x: int

            @dataclass(frozen=True)
            class Called:
                x: int

            @dataclasses.dataclass
            class Dotted:
                x: int

            @dataclass
            class Documented:
                """Has one."""

                x: int
            '''
        ),
        encoding="utf-8",
    )
    names = [entry.rsplit(":", 2)[1:] for entry in undocumented_dataclasses(tmp_path)]
    assert names == [["6", "Bare"], ["10", "Called"], ["14", "Dotted"]]


def test_an_analyze_run_keeps_inspect_deferred() -> None:
    """Guards the end-to-end saving: after the command line and the modules an ``analyze`` run
    imports, ``inspect`` is still the stand-in (before, ``bmad.ports.metrics.Sample`` loaded it)."""
    imports = "\n".join(f"import {name}" for name in ANALYZE_MODULES)
    script = f"import bmad.cli.main\n{imports}\nimport sys\nprint(type(sys.modules['inspect']).__name__)\n"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "_Deferred"

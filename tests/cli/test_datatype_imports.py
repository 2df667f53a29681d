"""The data types that ``analyze``, ``measure`` and the read commands import are ``@datatype`` classes:
a plain ``@dataclass`` compiles five or six methods when its module is imported (~0.5 ms a class,
~0.25 s of an analyze when ~180 classes did). A type made in a hot loop is a ``@datatype`` too: it gets
a compiled ``__init__`` of its own once it has made ``COMPILE_AFTER`` instances (session 12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.engine.support import bmad_argv, cli_env, git
from tests.helpers import EXAMPLES, REPO_ROOT

# after the command: each class defined in a loaded bmad module whose __init__ @dataclass compiled
PROBE = """
import sys
from bmad.cli.main import main
code = main({argv!r})
plain = sorted(
    f"{{value.__module__}}.{{value.__qualname__}}"
    for name, module in list(sys.modules.items()) if name.startswith("bmad.")
    for value in list(vars(module).values())
    if isinstance(value, type) and value.__module__ == name and "__dataclass_fields__" in value.__dict__
    and getattr(value.__dict__.get("__init__"), "__code__", None) is not None
    and value.__dict__["__init__"].__code__.co_filename == "<string>"
)
print("EXIT", code, "PLAIN", *plain, file=sys.stderr)
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The example, its BUILD and MEASURE the no-op phases of bench/noop, both passed."""
    repo = tmp_path_factory.mktemp("datatypes") / "hello"
    shutil.copytree(EXAMPLES / "hello", repo, ignore=shutil.ignore_patterns(".bmad", "reports", "__pycache__"))
    config = yaml.safe_load((repo / "bmad.yaml").read_text(encoding="utf-8"))
    config["environments"]["dev"].pop("monitoring", None)  # nothing to push to
    (repo / "bmad.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "example")
    bench = str(REPO_ROOT / "bench")
    env = cli_env(
        {
            "BMAD_PLUGIN_BUILD": "noop.build",
            "BMAD_PLUGIN_MEASURE": "noop.measure",
            "XDG_CACHE_HOME": str(repo.parent / "cache"),
            "PYTHONPATH": os.pathsep.join(p for p in (bench, os.environ.get("PYTHONPATH", "")) if p),
        }
    )
    env["PYTHONPATH"] = os.pathsep.join((str(REPO_ROOT), env["PYTHONPATH"]))
    for phase in ("build", "measure"):
        proc = subprocess.run(bmad_argv(phase, "-e", "dev"), cwd=repo, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    return repo, env


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "-e", "dev"],
        ["measure", "-e", "dev"],
        ["status", "-e", "dev"],
        ["history", "-e", "dev"],
        ["metrics"],
    ],
    ids=["analyze", "measure", "status", "history", "metrics"],
)
def test_commands_import_no_plain_dataclass(service: tuple[Path, dict[str, str]], argv: list[str]) -> None:
    """Guards the import cost of issue 13 (session 5): before it, these commands created ~180 plain
    dataclasses at import (~165 ms of a ~550 ms analyze); until session 12, twelve made in hot loops
    stayed plain (~7 ms of every command). A new one must be a ``@datatype``."""
    repo, env = service
    script = textwrap.dedent(PROBE.format(argv=argv))
    proc = subprocess.run([sys.executable, "-c", script], cwd=repo, env=env, capture_output=True, text=True)
    assert "EXIT " in proc.stderr, proc.stderr
    words = proc.stderr.rsplit("EXIT ", 1)[1].split()
    if argv[0] in ("status", "history", "metrics", "measure"):
        assert words[0] == "0", proc.stderr
    assert words[2:] == []
    if argv[0] == "analyze":  # it ran the phase (the example's exit is not 0: readiness items fail)
        assert list(repo.glob(".bmad/runs/*/dev/*/analyze-*/phase.json")), proc.stderr

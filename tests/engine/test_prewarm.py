"""The warm-up of a run of several phases: the later phases' modules import while the first one waits."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmad.core.models import PhaseName
from bmad.engine.prewarm import PHASE_MODULES, PUBLISH_MODULES, TARGET_MODULES, WarmUp, modules_for

ALL = list(PhaseName.ordered())


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path for throw-away modules (removed from sys.modules after the test)."""
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in set(sys.modules) - before:
        if name.startswith("warm_"):
            del sys.modules[name]


@pytest.mark.parametrize(
    "name",
    [name for table in (PHASE_MODULES, TARGET_MODULES) for names in table.values() for name in names]
    + list(PUBLISH_MODULES),
)
def test_every_module_the_warm_up_names_exists(name: str) -> None:
    """Guards the table against renames: a module (or a ``module:function``) that no longer exists
    would be warmed up in vain."""
    module, _, function = name.partition(":")
    assert importlib.util.find_spec(module) is not None
    if function:
        assert callable(getattr(importlib.import_module(module), function))


def test_a_run_of_several_phases_warms_up_what_they_import_and_a_single_phase_nothing() -> None:
    """Guards the own share of ``bmad run``: before, MEASURE, ANALYZE and DEPLOY imported their modules
    when they started (~0.2 s of a run with nothing to wait on)."""
    names = modules_for(ALL, target_kind="local", custom=lambda phase: False, publish=True)
    assert names[: len(PHASE_MODULES[PhaseName.BUILD])] == list(PHASE_MODULES[PhaseName.BUILD])
    assert {"bmad.phases.analyze.phase", "bmad.phases.deploy", "bmad.adapters.targets.local"} <= set(names)
    assert names[-len(PUBLISH_MODULES) :] == list(PUBLISH_MODULES) and len(names) == len(set(names))
    assert modules_for([PhaseName.MEASURE], target_kind="local", custom=lambda phase: False, publish=True) == []
    custom = modules_for(ALL, target_kind="kubernetes", custom=lambda phase: phase is PhaseName.ANALYZE, publish=False)
    assert "bmad.phases.analyze.phase" not in custom and not set(PUBLISH_MODULES) & set(custom)
    assert "bmad.adapters.targets.kubernetes" in custom and "bmad.adapters.targets.local" not in custom


def test_the_warm_up_imports_in_a_thread_of_its_own(package: Path) -> None:
    (package / "warm_probe.py").write_text("import threading\nTHREAD = threading.current_thread().name\n")
    warm = WarmUp(["warm_probe"])
    warm.start()
    warm.start()  # once only
    warm.wait()
    assert sys.modules["warm_probe"].THREAD == "bmad-warm-up"
    assert threading.current_thread().name != "bmad-warm-up"


def test_a_module_that_fails_to_import_fails_again_where_it_is_needed(package: Path) -> None:
    """The warm-up swallows the error; the phase that imports the module reports it as before."""
    (package / "warm_broken.py").write_text("raise ValueError('broken on purpose')\n")
    (package / "warm_fine.py").write_text("VALUE = 1\n")
    warm = WarmUp(["warm_broken", "warm_fine"])
    warm.start()
    warm.wait()
    assert sys.modules["warm_fine"].VALUE == 1 and "warm_broken" not in sys.modules
    with pytest.raises(ValueError, match="broken on purpose"):
        importlib.import_module("warm_broken")


def test_stop_ends_the_warm_up_before_the_next_module(package: Path) -> None:
    (package / "warm_first.py").write_text("import warm_gate\nwarm_gate.ENTERED.set()\nwarm_gate.GO.wait(5)\n")
    (package / "warm_gate.py").write_text("import threading\nENTERED = threading.Event()\nGO = threading.Event()\n")
    (package / "warm_second.py").write_text("")
    import warm_gate  # type: ignore[import-not-found]

    warm = WarmUp(["warm_first", "warm_second"])
    warm.start()
    assert warm_gate.ENTERED.wait(5)
    release = threading.Timer(0.2, warm_gate.GO.set)  # the first module ends after stop() was asked
    release.start()
    warm.stop()
    release.join()
    assert "warm_first" in sys.modules and "warm_second" not in sys.modules
    WarmUp(["warm_second"]).stop()  # never started: nothing to wait for


def test_deploy_on_the_local_target_does_not_import_the_kubernetes_adapter(tmp_path: Path) -> None:
    """Guards DEPLOY's start on the local target: its wiring imported the Kubernetes GPU view (and so
    the whole Kubernetes adapter, ~15 ms) for every target kind."""
    import json
    import os
    import subprocess

    from tests.helpers import REPO_ROOT

    probe = f"""
import sys, json
from pathlib import Path
from tests.phase_harness import context_from_yaml
from bmad.engine.wiring.deploy import make_plugin
yaml_text = "version: 1\\nservice: {{name: hello}}\\nenvironments:\\n  dev:\\n    target: {{kind: local}}\\n"
ctx = context_from_yaml(Path({str(tmp_path)!r}), yaml_text, environment="dev", version="0" * 40,
                        options={{"image": "example.invalid/hello:1"}})
make_plugin(ctx)
print(json.dumps(sorted(sys.modules)))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO_ROOT), str(REPO_ROOT / "src")))}
    proc = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))
    assert "bmad.phases.deploy" in loaded and "bmad.adapters.targets.kubernetes" not in loaded


def test_a_module_function_name_is_called_in_the_warm_up_and_a_failing_call_is_left_alone(package: Path) -> None:
    """``module:function`` calls the function once its module is imported, in the warm-up thread; an
    error is swallowed (the phase calls it again and reports it) and the names after it still run."""
    (package / "warm_calls.py").write_text(
        "import threading\nCALLED = []\n"
        "def ready():\n    CALLED.append(threading.current_thread().name)\n"
        "def broken():\n    raise ValueError('broken on purpose')\n"
    )
    warm = WarmUp(["warm_calls:broken", "warm_calls:ready"])
    warm.start()
    warm.wait()
    assert sys.modules["warm_calls"].CALLED == ["bmad-warm-up"]


def test_a_run_with_analyze_reads_the_catalog_while_the_first_phase_waits(tmp_path: Path) -> None:
    """Guards ANALYZE's start on a machine's first run (an empty user cache, as on a fresh CI runner):
    the readiness catalog was validated into its cache (25-220 ms, pydantic) when ANALYZE's checks
    started; now the warm-up does it during BUILD's waits, and ANALYZE finds it memoised."""
    import json
    import os
    import subprocess

    names = modules_for(ALL, target_kind="local", custom=lambda phase: False, publish=False)
    assert "bmad.phases.analyze.catalog:catalog" in names
    probe = (
        "import json, sys\nfrom bmad.engine.prewarm import WarmUp\n"
        "warm = WarmUp(json.loads(sys.argv[1]))\nwarm.start()\nwarm.wait()\n"
        "from bmad.phases.analyze.catalog import catalog\n"
        "from bmad.phases.analyze.catalog.compiled import cache_file\n"
        "print(catalog.cache_info().currsize, cache_file().is_file())"
    )
    analyze = json.dumps([name for name in names if name in PHASE_MODULES[PhaseName.ANALYZE]])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "empty-cache")}
    proc = subprocess.run([sys.executable, "-c", probe, analyze], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["1", "True"]


@pytest.mark.parametrize("phase", [PhaseName.ANALYZE, PhaseName.DEPLOY])
def test_the_warm_up_leaves_nothing_for_the_phase_to_import(phase: PhaseName) -> None:
    """Guards the table against a package that stops importing its phase on import (``bmad.phases.analyze``
    imports its phase when first named): in a fresh interpreter, warming up the phase's modules then
    making its plugin imports nothing of bmad's own that the warm-up did not."""
    import json
    import subprocess

    wiring = {PhaseName.ANALYZE: "bmad.engine.wiring.analyze", PhaseName.DEPLOY: "bmad.engine.wiring.deploy"}[phase]
    probe = (
        "import json, sys\nfrom bmad.engine.prewarm import WarmUp\n"
        "warm = WarmUp(json.loads(sys.argv[1]))\nwarm.start()\nwarm.wait()\n"
        "warmed = set(sys.modules)\n"
        f"import {wiring}\n"
        f"import bmad.phases.{phase.value}\n"
        f"getattr(bmad.phases.{phase.value}, '{phase.value.capitalize()}Phase')\n"
        "print(json.dumps(sorted(m for m in set(sys.modules) - warmed if m.startswith('bmad.'))))"
    )
    names = json.dumps(list(PHASE_MODULES[phase]))
    proc = subprocess.run([sys.executable, "-c", probe, names], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == []

"""Import the later phases' modules while the first phase waits on other systems.

A ``bmad run`` takes a release through several phases; each phase imports its wiring, adapters
and parsers when it starts, and that import time is bmad's own (no span covers it). While BUILD
waits on the container engine and the service's tests, one background thread imports what
MEASURE, ANALYZE, DEPLOY and the publishing after the run will use, so that they start at once.
Nothing is skipped: the same modules load, earlier. A module that fails to import is left alone:
the phase that needs it imports it again and reports the error as it always did. A name written
``module:function`` also calls that function (no arguments) once its module is imported: for work a
later phase memoises in the process, such as ANALYZE's readiness catalog (read from its cache, or
validated into it on a machine's first run: ~25 ms with pydantic already loaded, ~220 ms without);
a call that fails is left alone the same way.

Only a run of several phases warms up (a single phase has nothing to overlap with), and only bmad's
own phases (a custom phase module is the service's business). The next phase waits for the warm-up
to end before it starts, so no import competes with MEASURE's load test for the CPU.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from bmad.core.models import PhaseName

log = logging.getLogger("bmad.engine")

# What each of bmad's own phases imports when it runs: its wiring with what ``make_plugin`` imports
# (the phase, its checks and adapters), then what its checks import lazily.
PHASE_MODULES: dict[PhaseName, tuple[str, ...]] = {
    PhaseName.BUILD: ("bmad.engine.wiring.build", "detect_secrets.core.secrets_collection"),
    PhaseName.MEASURE: (
        "bmad.engine.wiring.measure",
        "bmad.engine.wiring.deploy",
        "bmad.adapters.targets.probe",
        "bmad.adapters.loadgen.runner",
        "bmad.adapters.loadgen.external",
    ),
    PhaseName.ANALYZE: (
        "bmad.engine.wiring.analyze",
        "bmad.engine.wiring.bundle_source",
        "bmad.adapters.renderers",
        "bmad.adapters.renderers.fingerprint",
        "bmad.adapters.git_history",
        "bmad.adapters.gpu_host",
        "bmad.adapters.kube_validate",
        "bmad.phases.analyze.phase",  # the package imports its phase when first named, not on import
        "bmad.phases.analyze.attestations",
        "bmad.phases.analyze.catalog:catalog",  # memoised: the readiness check finds it ready
    ),
    PhaseName.DEPLOY: (
        "bmad.engine.wiring.deploy",
        "bmad.engine.wiring.target_lock",
        "bmad.phases.deploy",
        "bmad.adapters.targets.probe",
        "prometheus_client.parser",
    ),
}
# The target adapter of the environment's kind, made by MEASURE (a preview), ANALYZE and DEPLOY.
TARGET_MODULES: dict[str, tuple[str, ...]] = {
    "local": (
        "bmad.adapters.targets.local",
        "bmad.adapters.targets.local.containers",
        "bmad.adapters.targets.local.preview",
        "bmad.adapters.targets.local.target_lock",
    ),
    "kubernetes": ("bmad.adapters.targets.kubernetes",),
}
# What publishing the release's documents after the run imports (unless reports are off).
PUBLISH_MODULES = ("bmad.engine.publish", "bmad.reports.outputs", "bmad.adapters.own_metrics")


def modules_for(
    phases: Sequence[PhaseName], *, target_kind: str, custom: Callable[[PhaseName], bool], publish: bool
) -> list[str]:
    """The modules a run of ``phases`` will import after it starts (with the ``module:function``
    calls it will make), in order; none for a single phase.

    ``target_kind``: the environment's target; ``custom``: whether a phase runs a service's own module
    (not warmed up); ``publish``: whether the documents are published after the run.
    """
    if len(phases) < 2:
        return []
    own = [phase for phase in phases if not custom(phase)]
    names = [name for phase in own for name in PHASE_MODULES[phase]]
    if set(own) - {PhaseName.BUILD}:
        names += TARGET_MODULES.get(target_kind, ())
    names += PUBLISH_MODULES if publish else ()
    return list(dict.fromkeys(names))


class WarmUp:
    """One background thread that imports ``modules`` in order, once started."""

    def __init__(self, modules: Iterable[str]) -> None:
        self.modules = tuple(modules)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start importing (once; later calls do nothing)."""
        if self._thread is None and self.modules:
            self._thread = threading.Thread(target=self._run, name="bmad-warm-up", daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """Until every module was imported (at once when never started)."""
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        """Import nothing more; wait for the module being imported."""
        self._stop.set()
        self.wait()

    def _run(self) -> None:
        for name in self.modules:
            if self._stop.is_set():
                return
            module_name, _, function = name.partition(":")
            try:
                module = importlib.import_module(module_name)
                if function:
                    getattr(module, function)()
            except Exception as exc:  # the phase that needs it does it again and reports the error
                log.debug("warm-up: %s not done: %s", name, exc)

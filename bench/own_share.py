"""Bmad's own share of a release: the wall time of a full ``bmad run`` not spent waiting on others.

    .venv/bin/python bench/own_share.py [--releases 2]

Starts its own stack (Podman API, registry, Prometheus with the example's rules, Pushgateway,
Alertmanager) in a temp dir on free ports, copies ``examples/hello`` into a temp git repository
pointed at it (as ``tests/examples/test_example_run.py`` does), and runs the real ``bmad run``
command (a subprocess) for BUILD -> MEASURE -> ANALYZE -> DEPLOY on the local target; each further
release changes the greeting, so its MEASURE load-tests the release before it. The spans each phase
recorded (every wait on the container engine, the registry, Prometheus and friends, the service
or its tests, git and other programs) come from the run's own JSON record. Printed per release:
the command's wall time, the time covered by spans, bmad's own share, where the waits went, where
the own time went (before the first phase, in each phase, between phases, after the last) with the
longest own stretches inside phases, and MET / NOT MET against the goal of issue 13 (own share <= 3 %).
``--keep DIR`` writes each run's JSON record there; ``--profile DIR`` runs each ``bmad run`` under
cProfile (slower; for finding where own time goes, not for the figure).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOAL = 0.03
TOP_STRETCHES = 5  # the longest own stretches inside phases, printed with the waits either side
IDENTITY = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


@dataclass(frozen=True)
class PhaseWindow:
    """One phase of the run: when it started and ended (UTC) and the spans it recorded."""

    name: str
    start: datetime
    end: datetime
    spans: tuple[Any, ...]

    @property
    def own(self) -> float:
        from bmad.core.spans import covered_seconds

        return (self.end - self.start).total_seconds() - covered_seconds(self.spans)

    def stretches(self) -> list[tuple[float, float, str, str]]:
        """The phase's own stretches (no span open): seconds, offset in the phase, the waits either side."""
        found: list[tuple[float, float, str, str]] = []
        cursor, before = self.start, "start"
        for span in sorted(self.spans, key=lambda s: s.start):
            if span.start > cursor:
                offset = (cursor - self.start).total_seconds()
                found.append(((span.start - cursor).total_seconds(), offset, before, span.label))
            if span.end > cursor:
                cursor, before = span.end, span.label
        if self.end > cursor:
            found.append(((self.end - cursor).total_seconds(), (cursor - self.start).total_seconds(), before, "end"))
        return found


@dataclass(frozen=True)
class Share:
    """One ``bmad run``: its wall time and the spans its phases recorded."""

    wall: float
    phases: float
    spans: list[Any]
    started: datetime | None = None  # when the command started (UTC)
    windows: tuple[PhaseWindow, ...] = ()

    @property
    def waited(self) -> float:
        from bmad.core.spans import covered_seconds

        return covered_seconds(self.spans)

    @property
    def own(self) -> float:
        return (self.wall - self.waited) / self.wall

    def own_by_place(self) -> list[tuple[str, float]]:
        """Own seconds before the first phase, in each phase, between phases and after the last."""
        if self.started is None or not self.windows:
            return []
        first, last = self.windows[0], self.windows[-1]
        ended = self.started + timedelta(seconds=self.wall)
        between = sum((b.start - a.end).total_seconds() for a, b in zip(self.windows, self.windows[1:], strict=False))
        return [
            (f"before {first.name}", (first.start - self.started).total_seconds()),
            *((window.name, window.own) for window in self.windows),
            ("between phases", between),
            (f"after {last.name}", (ended - last.end).total_seconds()),
        ]


# `python -m cProfile -m bmad` writes nothing: the console script ends with os._exit (bmad.cli.main.run),
# which skips cProfile's dump. This runs the same main() under a profiler and dumps before leaving.
_PROFILED = """\
import cProfile, sys
from bmad.cli.main import main
output, sys.argv = sys.argv[1], ["bmad", *sys.argv[2:]]
profile = cProfile.Profile()
code = profile.runcall(main, own_process=True)
profile.dump_stats(output)
sys.exit(code)
"""


def run_release(bmad: str, repo: Path, env: dict[str, str], keep: Path | None, profile: Path | None = None) -> Share:
    from bmad.core.spans import Span

    argv = [bmad, "run", "-c", "bmad.yaml", "-e", "dev", "--json"]
    if profile is not None:  # the same command under cProfile (slower: its figures are for attribution only)
        profile.mkdir(parents=True, exist_ok=True)
        output = profile / f"run-{len(list(profile.glob('run-*.prof'))) + 1}.prof"
        argv = [sys.executable, "-c", _PROFILED, str(output), *argv[1:]]
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=600, check=False)
    wall = time.perf_counter() - started
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"run-{len(list(keep.glob('run-*.json'))) + 1}.json").write_text(proc.stdout, encoding="utf-8")
    try:
        record = json.loads(proc.stdout)
    except ValueError:
        record = {"passed": False, "message": f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"}
    if proc.returncode != 0 or not record["passed"]:  # a run that stopped early would flatter (or blame) bmad
        raise SystemExit(f"bench: `bmad run` did not pass (exit {proc.returncode}): {record['message']}")
    phases = record["phases"]
    windows = tuple(
        PhaseWindow(
            phase["phase"],
            datetime.fromisoformat(phase["started_at"]),
            datetime.fromisoformat(phase["finished_at"]),
            tuple(Span.from_dict(item) for item in phase.get("spans", [])),
        )
        for phase in phases
    )
    spans = [span for window in windows for span in window.spans]
    return Share(wall, sum(float(phase["duration_seconds"]) for phase in phases), spans, started_at, windows)


def print_share(number: int, share: Share) -> None:
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for span in share.spans:
        by_kind[span.kind.value].append(span)
    from bmad.core.spans import covered_seconds

    kinds = ", ".join(
        f"{kind} {covered_seconds(items):.2f} s ({len(items)})"
        for kind, items in sorted(by_kind.items(), key=lambda kv: -covered_seconds(kv[1]))
    )
    verdict = "MET" if share.own <= GOAL else "NOT MET"
    print(
        f"release {number}: wall {share.wall:.2f} s (phases {share.phases:.2f} s), waited {share.waited:.2f} s, "
        f"own {share.wall - share.waited:.2f} s = {share.own:.1%} (goal <= {GOAL:.0%}: {verdict})"
    )
    print(f"  waits: {kinds}")
    places = ", ".join(f"{place} {seconds:.2f} s" for place, seconds in share.own_by_place())
    if places:
        print(f"  own time: {places}")
    stretches = sorted(
        ((stretch, window.name) for window in share.windows for stretch in window.stretches()), reverse=True
    )
    for (seconds, offset, before, after), name in stretches[:TOP_STRETCHES]:
        print(f"  own {seconds:.2f} s in {name} at +{offset:.2f} s: after [{before[:60]}], before [{after[:60]}]")


def own_shares(
    releases: int, keep: Path | None = None, *, show: bool = True, profile: Path | None = None
) -> list[Share]:
    """``releases`` full runs of the example on a stack of their own; each one's share (printed with ``show``)."""
    os.environ.update(IDENTITY)  # the temp repository's commits, whatever the machine's git config
    import docker
    from tests.examples.test_example_run import _example_copy, _remove_release_containers
    from tests.helpers import free_port, free_port_block

    from bmad.stack import DEFAULT_COMPONENTS, StackPorts, up

    bmad = shutil.which("bmad", path=str(Path(sys.executable).parent)) or "bmad"
    with tempfile.TemporaryDirectory(prefix="bmad-bench-own-share-") as raw:
        tmp = Path(raw)
        ports = StackPorts(
            registry=free_port(), prometheus=free_port(), pushgateway=free_port(), alertmanager=free_port()
        )
        stack = up(tmp / "stack", ports=ports, components=DEFAULT_COMPONENTS, scrape_targets={}, rule_files=[])
        stack.set_rule_files(sorted(glob.glob(str(ROOT / "examples" / "hello" / "monitoring" / "*.yml"))))
        engine = docker.DockerClient(base_url=stack.docker_host, timeout=300)
        env = {**os.environ, "DOCKER_HOST": stack.docker_host}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode is kept, as an installed bmad's is
        for name in ("BMAD_LEDGER_URL", "BMAD_PROMETHEUS_FILE_SD_DIR", "BMAD_PLUGIN_BUILD", "BMAD_PLUGIN_MEASURE"):
            env.pop(name, None)
        versions: list[str] = []
        try:
            sys.path.insert(0, str(ROOT / "examples" / "base"))
            from build_base import build_base_image

            repo = tmp / "hello"
            subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
            _example_copy(
                repo, stack=stack, base_image=str(build_base_image(engine)), host_port_base=free_port_block(4)
            )
            shares = []
            for number in range(1, releases + 1):
                if number > 1:
                    configmap = repo / "k8s" / "10-configmap.yaml"
                    configmap.write_text(configmap.read_text(encoding="utf-8") + f"# release {number}\n")
                    subprocess.run(["git", "commit", "-qam", f"release {number}"], cwd=repo, check=True)
                versions.append(subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=repo, text=True).strip())
                shares.append(run_release(bmad, repo, env, keep, profile))
                if show:
                    print_share(number, shares[-1])
            return shares
        finally:
            _remove_release_containers(engine, versions)
            for leftover in glob.glob(str(stack.file_sd_dir / "hello-dev*.json")):
                os.unlink(leftover)
            engine.close()
            stack.down(purge=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--releases", type=int, default=2)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write each run's JSON record there")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="profile each `bmad run` (cProfile) into DIR")
    args = parser.parse_args()
    own_shares(args.releases, args.keep, profile=args.profile)
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

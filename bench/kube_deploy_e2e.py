"""`bmad run` end to end against `kubectl apply --server-side` + `kubectl rollout status`, same bundle.

    .venv/bin/python bench/kube_deploy_e2e.py [--objects 50] [--rounds 3]

Unlike bench/kube_deploy.py (the target in-process), this runs the real CLI as a subprocess, as a
user does: per round a service in its own git repository (tests/phases/deploy/kube_service.py; BUILD
and MEASURE are bench/noop's no-op phases, ANALYZE and DEPLOY bmad's) releases the bundle of
bench/kube_deploy.py into a fresh namespace of the faithful stand-in (tests/kube_apiserver), and the
real kubectl applies the same bundle into another one. API requests are counted from the stand-in's
request log (tests/kube_apiserver/audit.py) for both. Prints per round, then the medians:

* ``bmad_run``: the whole ``bmad run`` (interpreter start, git, ledger, every phase, reports off);
* ``bmad_analyze`` / ``bmad_deploy``: the ANALYZE / DEPLOY phase as its record times it;
* ``bmad_apply_rollout``: DEPLOY's ``deploy.apply`` + ``deploy.rollout`` checks, the part that does
  what the two kubectl commands do;
* ``kubectl``: both kubectl processes, start to end.

The goal of issue 12 is ``bmad_apply_rollout`` <= 1.2x ``kubectl``; the exit code is 1 when missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "src", ROOT / "bench"):
    sys.path.insert(0, str(extra))

GOAL_RATIO = 1.2


def _requests(standin: Any) -> int:
    return len(standin.control("GET", "requests").body["requests"])


def _seconds(phase: dict[str, Any]) -> float:
    started, finished = phase.get("started_at"), phase.get("finished_at")
    if not started or not finished:
        return float("nan")
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


def bmad_round(standin: Any, root: Path, round_: int, objects: int) -> dict[str, float]:
    from kube_deploy import bundle
    from tests.phases.deploy.kube_service import KubeService, digest

    namespace = f"e2e-bmad-{round_}"
    standin.request(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    )
    service = KubeService.create(root, standin, f"e2e{round_}", context="admin", settings={"namespace": namespace})
    release = bundle(namespace, objects, "1")
    for obj in release:
        if obj["kind"] == "Deployment":
            obj["metadata"]["name"] = service.name  # the Deployment bmad waits for is named after the service
    service.release(release, "release 1")
    standin.control("DELETE", "requests")
    started = time.monotonic()
    outcome = service.run(digest("1"))
    wall = time.monotonic() - started
    assert outcome.code == 0, outcome.explain()
    deploy = outcome.phase("deploy")
    checks = {c["id"]: float(c.get("duration_seconds") or 0.0) for c in deploy.get("checks") or []}
    return {
        "bmad_run_seconds": wall,
        "bmad_analyze_seconds": _seconds(outcome.phase("analyze")),
        "bmad_deploy_seconds": _seconds(deploy),
        "bmad_apply_rollout_seconds": checks.get("deploy.apply", 0.0) + checks.get("deploy.rollout", 0.0),
        "bmad_requests": _requests(standin),
    }


def kubectl_round(standin: Any, round_: int, objects: int) -> dict[str, float]:
    import yaml
    from kube_deploy import bundle

    namespace = f"e2e-kubectl-{round_}"
    assert standin.kubectl("create", "namespace", namespace).returncode == 0
    text = yaml.safe_dump_all(bundle(namespace, objects, "1"))
    standin.control("DELETE", "requests")
    started = time.monotonic()
    applied = standin.kubectl("apply", "--server-side", "-f", "-", stdin=text, timeout=120)
    assert applied.returncode == 0, applied.stderr
    status = standin.kubectl("rollout", "status", "deployment/bench", "-n", namespace, "--timeout=120s", timeout=130)
    assert status.returncode == 0, status.stderr
    return {"kubectl_seconds": time.monotonic() - started, "kubectl_requests": _requests(standin)}


def _line(figures: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.2f}" if "seconds" in k else f"{k}={int(v)}" for k, v in figures.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from tests.kube_apiserver.harness import StandIn

    work = Path(tempfile.mkdtemp(prefix="bmad-kube-e2e-"))
    (work / "standin").mkdir()
    standin = StandIn.start(work / "standin")
    rows: list[dict[str, float]] = []
    try:
        for round_ in range(args.rounds):
            figures = {
                **bmad_round(standin, work, round_, args.objects),
                **kubectl_round(standin, round_, args.objects),
            }
            rows.append(figures)
            print(_line(figures), flush=True)
    finally:
        standin.stop()
    medians = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
    ratio = medians["bmad_apply_rollout_seconds"] / medians["kubectl_seconds"]
    whole = medians["bmad_run_seconds"] / medians["kubectl_seconds"]
    print("median " + _line(medians))
    print(f"apply+rollout vs kubectl: {ratio:.2f}x (goal <= {GOAL_RATIO}); whole bmad run vs kubectl: {whole:.2f}x")
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

"""ANALYZE benchmark: validation + every readiness check over a generated 1,000-object corpus,
and the same files through checkov, in the same run, on one core.

    .venv/bin/python bench/analyze.py [--objects 1000] [--no-checkov] [--keep DIR]

checkov lives in its own venv (``.bench/checkov-venv``, created on first use with
``python3 -m venv`` + ``pip install checkov``): installed next to bmad it breaks the ``kubernetes``
client's dependencies. It runs offline (CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE
--skip-download). Both tools are pinned to one CPU with ``taskset -c 0`` when available.

Figures are objects per CPU-second (user+sys of this process, and of checkov's process tree), so
a machine busy with other work distorts them less; wall-clock seconds are shown too.

Prints objects/s for bmad (cold: empty schema cache; warm: compiled validators cached on disk,
the steady state of CI runs), checkov's objects/s and the ratio. Goal: >= 2,000 objects/s and
>= 20x checkov.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHECKOV_VENV = ROOT / ".bench" / "checkov-venv"


# ------------------------------------------------------------------------------ the corpus
def _container(rng: random.Random, name: str, hardened: bool) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": f"registry.example.org/team/{name}:{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
        "env": [{"name": f"VAR_{i}", "value": str(rng.random())} for i in range(rng.randint(3, 10))]
        + [{"name": "DB_HOST", "valueFrom": {"configMapKeyRef": {"name": f"{name}-config", "key": "db_host"}}}],
        "resources": {
            "requests": {"cpu": f"{rng.choice([50, 100, 250])}m", "memory": f"{rng.choice([64, 128, 256])}Mi"},
            "limits": {"memory": f"{rng.choice([128, 256, 512])}Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    if hardened:
        c["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "capabilities": {"drop": ["ALL"]},
        }
    elif rng.random() < 0.3:
        c["securityContext"] = {"privileged": rng.random() < 0.2}
    return c


def _pod(rng: random.Random, name: str) -> dict[str, Any]:
    hardened = rng.random() < 0.6
    spec: dict[str, Any] = {
        "serviceAccountName": name,
        "containers": [_container(rng, name, hardened)],
        "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}}, {"name": "tmp", "emptyDir": {}}],
    }
    if rng.random() < 0.3:
        spec["containers"].append(_container(rng, f"{name}-sidecar", hardened))
    if hardened:
        spec["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    return spec


def _meta(name: str, ns: str) -> dict[str, Any]:
    return {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/name": name, "team": "bench"}}


def make_app(rng: random.Random, index: int) -> list[dict[str, Any]]:
    """One application: a workload with Service, ConfigMap, SA and (some) HPA, PDB, NetworkPolicy, Ingress."""
    name = f"app{index}"
    ns = f"team{index % 7}"
    labels = {"app": name}
    kind = rng.choices(["Deployment", "StatefulSet", "CronJob"], weights=[8, 1, 1])[0]
    objects: list[dict[str, Any]] = []
    if kind == "CronJob":
        pod = _pod(rng, name)
        pod["restartPolicy"] = "OnFailure"
        for c in pod["containers"]:
            c.pop("readinessProbe"), c.pop("livenessProbe")
        objects.append(
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": _meta(name, ns),
                "spec": {
                    "schedule": "*/5 * * * *",
                    "jobTemplate": {"spec": {"template": {"metadata": {"labels": labels}, "spec": pod}}},
                },
            }
        )
    else:
        spec: dict[str, Any] = {
            "replicas": rng.choice([1, 2, 3]),
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": _pod(rng, name)},
        }
        if kind == "StatefulSet":
            spec["serviceName"] = name
        objects.append({"apiVersion": "apps/v1", "kind": kind, "metadata": _meta(name, ns), "spec": spec})
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta(name, ns),
                "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
            }
        )
        if rng.random() < 0.5:
            objects.append(
                {
                    "apiVersion": "autoscaling/v2",
                    "kind": "HorizontalPodAutoscaler",
                    "metadata": _meta(name, ns),
                    "spec": {
                        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
                        "minReplicas": 2,
                        "maxReplicas": 10,
                        "metrics": [
                            {
                                "type": "Resource",
                                "resource": {
                                    "name": "cpu",
                                    "target": {"type": "Utilization", "averageUtilization": 70},
                                },
                            }
                        ],
                    },
                }
            )
        if rng.random() < 0.5:
            objects.append(
                {
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": _meta(name, ns),
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
                }
            )
        if rng.random() < 0.4:
            objects.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": _meta(name, ns),
                    "spec": {
                        "tls": [{"hosts": [f"{name}.example.org"], "secretName": f"{name}-tls"}],
                        "rules": [
                            {
                                "host": f"{name}.example.org",
                                "http": {
                                    "paths": [
                                        {
                                            "path": "/",
                                            "pathType": "Prefix",
                                            "backend": {"service": {"name": name, "port": {"name": "http"}}},
                                        }
                                    ]
                                },
                            }
                        ],
                    },
                }
            )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(f"{name}-config", ns),
            "data": {"db_host": "db", **{f"key{i}": "x" * rng.randint(10, 200) for i in range(rng.randint(2, 12))}},
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(name, ns),
            "automountServiceAccountToken": False,
        }
    )
    if rng.random() < 0.5:
        objects.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta(name, ns),
                "spec": {
                    "podSelector": {"matchLabels": labels},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"ports": [{"port": 8080}]}],
                },
            }
        )
    return objects


def write_corpus(folder: Path, count: int, *, seed: int = 7) -> int:
    rng = random.Random(seed)
    total = 0
    index = 0
    while total < count:
        objects = make_app(rng, index)[: count - total]
        (folder / f"app{index:04d}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False), encoding="utf-8")
        total += len(objects)
        index += 1
    return total


# ------------------------------------------------------------------------------ runners
def run_bmad(folder: Path, cache_dir: Path) -> dict[str, Any]:
    from bmad.adapters.kube_validate import BundledSchemaValidator
    from bmad.config.analyze import AnalyzeConfig
    from bmad.phases.analyze.context import EvalContext
    from bmad.phases.analyze.manifest_files import load_bundle
    from bmad.phases.analyze.readiness import run_catalog
    from bmad.phases.analyze.validation import validate_bundle

    clock = time.process_time  # CPU seconds of this (single-threaded) process: robust on a busy machine
    wall = time.perf_counter()
    started = clock()
    bundle = load_bundle([folder])
    parsed = clock()
    validator = BundledSchemaValidator("1.30", cache_dir=cache_dir)
    validation = validate_bundle(bundle, validator, kubernetes_version="1.30")
    validated = clock()
    settings = AnalyzeConfig(allowed_registries=["registry.example.org"])
    report = run_catalog(EvalContext(bundle=bundle, settings=settings, schema_results=validation.schema_results))
    done = clock()
    wall = time.perf_counter() - wall
    n = len(bundle.objects)
    return {
        "objects": n,
        "seconds": done - started,
        "wall_seconds": wall,
        "objects_per_second": n / (done - started),
        "parse_seconds": parsed - started,
        "validate_seconds": validated - parsed,
        "checks_seconds": done - validated,
        "schemas_compiled": validator.compiled_count,
        "schema_cache_hits": validator.cache_hits,
        "invalid": validation.invalid,
        "failed_items": sum(1 for i in report.items if i.status.value == "fail"),
        "findings": sum(len(i.findings) for i in report.items),
        "checks": len(report.items),
    }


def _one_core() -> list[str]:
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def ensure_checkov() -> Path | None:
    binary = CHECKOV_VENV / "bin" / "checkov"
    if binary.exists():
        return binary
    print(f"installing checkov into {CHECKOV_VENV} (own venv; ~30 s) ...", file=sys.stderr)
    CHECKOV_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
    result = subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", "checkov"], check=False)
    return binary if result.returncode == 0 and binary.exists() else None


CHECKOV_ENV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}


def checkov_argv(binary: Path, folder: Path) -> list[str]:
    """checkov's CLI on a folder of Kubernetes manifests, JSON out, no network (also used by bench/cli.py)."""
    return [
        str(binary),
        "-d",
        str(folder),
        "--framework",
        "kubernetes",
        "--skip-download",
        "--compact",
        "--quiet",
        "-o",
        "json",
        "--soft-fail",
    ]


def run_checkov(binary: Path, folder: Path, objects: int) -> dict[str, Any]:
    env = {**os.environ, **CHECKOV_ENV}
    argv = [*_one_core(), *checkov_argv(binary, folder)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=1800)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of checkov and its children (it may fork workers): what one core would spend.
    elapsed = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary: dict[str, Any] = {}
    try:
        data = json.loads(proc.stdout)
        data = data[0] if isinstance(data, list) else data
        summary = data.get("summary", {})
    except (ValueError, AttributeError, IndexError):
        pass
    return {
        "objects": objects,
        "seconds": elapsed,
        "wall_seconds": wall,
        "objects_per_second": objects / elapsed,
        "exit_code": proc.returncode,
        "passed": summary.get("passed"),
        "failed": summary.get("failed"),
        "resources": summary.get("resource_count"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the best is reported")
    parser.add_argument("--no-checkov", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if _one_core() and "BMAD_BENCH_PINNED" not in os.environ:
        # Re-run this script pinned to one core so bmad's figure is single-core too.
        env = {**os.environ, "BMAD_BENCH_PINNED": "1"}
        return subprocess.call([*_one_core(), sys.executable, *sys.argv], env=env)

    work = Path(tempfile.mkdtemp(prefix="bmad-bench-analyze-"))
    folder = args.keep or (work / "corpus")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        count = write_corpus(folder, args.objects)
        cache = work / "schema-cache"
        cold = run_bmad(folder, cache)
        # Best of N, for both tools: the least disturbed run on a shared machine.
        warm = min((run_bmad(folder, cache) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        results: dict[str, Any] = {
            "corpus_objects": count,
            "files": len(list(folder.glob("*.yaml"))),
            "bmad_cold": cold,
            "bmad_warm": warm,
        }
        if not args.no_checkov:
            binary = ensure_checkov()
            if binary is None:
                results["checkov"] = {"error": "checkov could not be installed"}
            else:
                results["checkov"] = min(
                    (run_checkov(binary, folder, count) for _ in range(args.repeat)), key=lambda r: r["seconds"]
                )
                results["ratio_warm"] = warm["objects_per_second"] / results["checkov"]["objects_per_second"]
                results["ratio_cold"] = cold["objects_per_second"] / results["checkov"]["objects_per_second"]
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            print(f"corpus: {count} objects in {results['files']} files (one core, best of {args.repeat})")
            for label in ("bmad_cold", "bmad_warm"):
                r = results[label]
                print(
                    f"{label:10} {r['objects_per_second']:8.0f} objects/s  ({r['seconds']:.3f} CPU s, "
                    f"{r['wall_seconds']:.3f} wall s; parse {r['parse_seconds']:.3f}, validate "
                    f"{r['validate_seconds']:.3f}, {r['checks']} checks {r['checks_seconds']:.3f}; "
                    f"schemas compiled {r['schemas_compiled']}, cached {r['schema_cache_hits']})"
                )
            ck = results.get("checkov")
            if ck and "error" not in ck:
                print(
                    f"{'checkov':10} {ck['objects_per_second']:8.1f} objects/s  ({ck['seconds']:.2f} CPU s, "
                    f"{ck['wall_seconds']:.2f} wall s, "
                    f"{ck['passed']} passed / {ck['failed']} failed checks)"
                )
                print(
                    f"ratio      {results['ratio_warm']:8.1f}x warm, {results['ratio_cold']:.1f}x cold "
                    f"(goal: >= 2000 objects/s and >= 20x)"
                )
            elif ck:
                print(f"checkov: {ck['error']}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the corpus itself stays when written to --keep


if __name__ == "__main__":
    sys.exit(main())

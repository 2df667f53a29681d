"""Run the Kubernetes API stand-in in the foreground.

    python tests/kube_apiserver/serve.py --port PORT --dir DIR [--time-scale 0.05]

Writes DIR/kubeconfig (contexts ``admin``, ``ci`` limited to namespace ``team-a``, ``readonly``) and
DIR/ca.crt, then prints ``ready https://127.0.0.1:PORT`` on stdout once it answers.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path

if __package__ in (None, ""):
    # run as a script: import the package from the repository root, not this folder
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from tests.kube_apiserver.cluster import Cluster, ClusterOptions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="real seconds per simulated second for controller timings (probe delays, minReadySeconds, ...)",
    )
    parser.add_argument("--nodes", type=int, default=3, help="simulated nodes (DaemonSets run one pod on each)")
    parser.add_argument("--gpu-nodes", type=int, default=0, help="how many nodes advertise one nvidia.com/gpu")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(ClusterOptions(args.port, args.dir, args.time_scale, args.nodes, args.gpu_nodes))
    signal.signal(signal.SIGTERM, lambda *_: cluster.stop())
    cluster.start()
    print(f"ready https://127.0.0.1:{args.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        cluster.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

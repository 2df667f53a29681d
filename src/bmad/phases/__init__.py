"""The four phases. Each depends on ``bmad.ports`` only; adapters are handed in by the engine's wiring."""

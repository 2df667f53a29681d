"""Small interfaces between the phases and the systems they talk to.

Phases depend on these protocols only; the engine's wiring picks the adapters.
"""

"""MEASURE's checks, one module each.

Every module declares ``CHECK`` (its :class:`~bmad.ports.phase.CheckId`), ``NEEDS`` (ids of the
checks that must pass first), ``EXCLUSIVE`` (run while no other check runs) and
``run(ctx, ports)``; :mod:`bmad.phases.measure.phase` lists them in order.
"""

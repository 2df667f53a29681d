"""bmad: take a service to production through BUILD -> MEASURE -> ANALYZE -> DEPLOY.

The package is a library first; the ``bmad`` command line is a thin layer over it.
Heavy clients (kubernetes, docker, sqlalchemy, jinja2) are imported lazily by the
modules that need them, so ``import bmad`` and ``bmad --help`` stay fast.
"""

__version__ = "0.1.0"

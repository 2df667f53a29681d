"""DEPLOY's checks, one module each: ``CHECK`` (id and title), ``NEEDS`` and ``run(ctx, ports)``."""

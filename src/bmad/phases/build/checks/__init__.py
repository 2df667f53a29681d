"""BUILD's checks, one module each: ``CHECK`` (id and title), ``NEEDS`` and ``run(ctx, ports, work)``.

``suite`` makes one check per configured test suite (``check_of(suite)``; its ``run`` also takes the suite).
"""

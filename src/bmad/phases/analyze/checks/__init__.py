"""ANALYZE's checks, one module per check: each declares ``CHECK`` (its id and title) and
``run(ctx, phase)``; ``phase.py`` lists them."""

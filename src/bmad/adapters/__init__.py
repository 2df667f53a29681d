"""One module per external system. ``_process`` and ``_http`` are the only seams that spawn or dial."""

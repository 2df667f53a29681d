"""The phase engine: releases, gating, concurrency, lifecycle, locks, records. Also the wiring
(composition root) that picks adapters for each phase's ports."""

"""A Kubernetes API server stand-in that the real kubectl talks to as to a small real cluster.

Start it with ``python tests/kube_apiserver/serve.py --port PORT --dir DIR`` (see docs/contributing.md).
One module per concern: ``storage`` (objects, resourceVersion, watch history), ``protocol`` (HTTPS,
routing, bodies, watch streams), ``discovery`` (discovery + OpenAPI), ``fields`` and ``apply``
(server-side apply with managedFields), ``patch`` (merge / JSON / strategic merge patch),
``admission`` (defaults, validation, NamespaceLifecycle, PodSecurity), ``authz`` (tokens, RBAC-like
rules, access reviews), ``controllers`` (workloads, pods, HPA), ``faults`` and ``serve``.
"""

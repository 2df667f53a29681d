"""Where releases run: the local container engine (Docker API) and Kubernetes.

Both implement :class:`bmad.ports.target.Target`; :mod:`.probe` implements the data-plane
ports (HTTP probes of the service, the service's own smoke suite).
"""

"""Evaluators: the code behind catalog entries, one module per scope (see ``registry``); the
object scope has two, ``object_fields`` (one object's own fields) and ``object_relations``
(what it selects or targets elsewhere in the bundle).

Importing this package registers every evaluator in :data:`registry.EVALUATORS`.
"""

from bmad.phases.analyze.evaluators import (  # noqa: F401 - imported to register their evaluators
    attestation,
    bundle,
    compose,
    config,
    container,
    evidence,
    gpu,
    object_fields,
    object_relations,
    pod,
)
from bmad.phases.analyze.evaluators.registry import EVALUATORS, Evaluator, register

__all__ = ["EVALUATORS", "Evaluator", "register"]

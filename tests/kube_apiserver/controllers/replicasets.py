from .base import Controller


class ReplicaSetController(Controller):
    def reconcile(self) -> None:
        return

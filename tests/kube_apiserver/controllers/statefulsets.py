from .base import Controller


class StatefulSetController(Controller):
    def reconcile(self) -> None:
        return

from .base import Controller


class DaemonSetController(Controller):
    def reconcile(self) -> None:
        return

from .base import Controller


class HpaController(Controller):
    def reconcile(self) -> None:
        return

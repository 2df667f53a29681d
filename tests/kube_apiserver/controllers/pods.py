from .base import Controller


class PodController(Controller):
    def reconcile(self) -> None:
        return

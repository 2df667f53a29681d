from .base import Controller


class DeploymentController(Controller):
    def reconcile(self) -> None:
        return

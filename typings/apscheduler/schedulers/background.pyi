from apscheduler.schedulers.base import BaseScheduler

class BackgroundScheduler(BaseScheduler):
    def shutdown(self, wait: bool = True) -> None: ...

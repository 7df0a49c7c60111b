from datetime import datetime
from typing import Any

from apscheduler.triggers.base import BaseTrigger

class Job:
    def __init__(self, scheduler: Any, id: str | None = None, **kwargs: Any) -> None: ...
    id: str
    name: str
    func_ref: str
    trigger: BaseTrigger
    args: tuple[Any, ...]
    next_run_time: datetime | None
    def remove(self) -> None: ...

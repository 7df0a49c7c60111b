from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from apscheduler.job import Job
from apscheduler.triggers.base import BaseTrigger

class BaseScheduler(metaclass=ABCMeta):
    def __init__(self, gconfig: dict[str, Any] = ..., **options: Any) -> None: ...
    def configure(
        self, gconfig: dict[str, Any] = ..., prefix: str = "apscheduler.", **options: Any
    ) -> None: ...
    def start(self, paused: bool = False) -> None: ...
    @abstractmethod
    def shutdown(self, wait: bool = True) -> None: ...
    def resume(self) -> None: ...
    def add_job(
        self,
        func: Callable[..., Any] | str,
        trigger: BaseTrigger | str | None = None,
        args: Sequence[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        id: str | None = None,
        name: str | None = None,
        misfire_grace_time: int | None = ...,
        coalesce: bool = ...,
        max_instances: int = ...,
        next_run_time: Any = ...,
        jobstore: str = "default",
        executor: str = "default",
        replace_existing: bool = False,
        **trigger_args: Any,
    ) -> Job: ...
    def modify_job(self, job_id: str, jobstore: str | None = None, **changes: Any) -> Job: ...
    def reschedule_job(
        self,
        job_id: str,
        jobstore: str | None = None,
        trigger: BaseTrigger | str | None = None,
        **trigger_args: Any,
    ) -> Job: ...
    def get_jobs(self, jobstore: str | None = None, pending: bool | None = None) -> list[Job]: ...
    def get_job(self, job_id: str, jobstore: str | None = None) -> Job | None: ...

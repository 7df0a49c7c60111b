from typing import Any

from apscheduler.jobstores.base import BaseJobStore
from sqlalchemy import Table
from sqlalchemy.engine import Engine

class SQLAlchemyJobStore(BaseJobStore):
    engine: Engine
    jobs_t: Table
    def __init__(
        self,
        url: str | None = None,
        engine: Any = None,
        tablename: str = "apscheduler_jobs",
        metadata: Any = None,
        pickle_protocol: int = ...,
        tableschema: str | None = None,
        engine_options: dict[str, Any] | None = None,
    ) -> None: ...
    def start(self, scheduler: Any, alias: str) -> None: ...

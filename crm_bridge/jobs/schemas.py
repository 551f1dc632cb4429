"""Shapes of the dead-job API (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_bridge.jobs.models import DeadJob, DeadJobStatus
from crm_bridge.jobs.service import attempts_of
from crm_bridge.shapes import Id


class DeadJobRead(BaseModel):
    """A job whose retries ran out (or that was replayed since)."""

    id: int
    task: str
    job_id: str
    arguments: list[Any] = Field(description="the task's arguments (ids, never message texts)")
    keyword_arguments: dict[str, Any]
    error: str
    status: DeadJobStatus
    failed_at: datetime
    replayed_at: datetime | None
    attempts: int | None = Field(
        None, description="runs before it died (the first and the task's retries); null: unknown task"
    )

    @classmethod
    def of(cls, job: DeadJob) -> DeadJobRead:
        """The read shape of a stored dead job."""
        return cls(
            id=job.id,
            task=job.task,
            job_id=job.job_id,
            arguments=job.args,
            keyword_arguments=job.kwargs,
            error=job.error,
            status=job.status,
            failed_at=job.failed_at,
            replayed_at=job.replayed_at,
            attempts=attempts_of(job.task),
        )


class ReplayRequest(BaseModel):
    """Which dead jobs to put back on the queue: `ids`, or `all_dead`."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Id] | None = Field(None, min_length=1, max_length=500)
    all_dead: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> ReplayRequest:
        if (self.ids is None) == (not self.all_dead):
            raise ValueError("give either ids or all_dead: true")
        return self


class ReplayResponse(BaseModel):
    """The ids of the jobs put back on the queue."""

    replayed: list[int]

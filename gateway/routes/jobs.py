"""Reading jobs: what happened to the work that was accepted."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from contracts.events import JobStatus, TaskType
from gateway.json_bodies import StrictJsonRoute
from gateway.routes.deps import GatewayDep
from gateway.store import Job

# The job store's integers are 64-bit (SQLite INTEGER, PostgreSQL BIGINT OFFSET):
# a larger offset could never find a row, and the database would refuse it.
MAX_OFFSET = 2**63 - 1

router = APIRouter(prefix="/v1", tags=["jobs"], route_class=StrictJsonRoute)


class JobPage(BaseModel):
    jobs: list[Job]
    total: int
    limit: int
    offset: int


@router.get("/jobs/{job_id}", responses={404: {"description": "No job with this id."}})
async def get_job(job_id: UUID, gateway: GatewayDep) -> Job:
    """A job's status, attempts, progress, error and result."""
    job = await gateway.store.get(job_id)
    if job is None:
        raise HTTPException(404, detail=f"no job with id {job_id}")
    return job


@router.get("/jobs")
async def list_jobs(
    gateway: GatewayDep,
    status: JobStatus | None = None,
    type: TaskType | None = None,  # noqa: A002 - the public query parameter is called "type"
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> JobPage:
    """Jobs, newest first, optionally filtered by status and task type."""
    jobs, total = await gateway.store.list(status=status, task_type=type, limit=limit, offset=offset)
    return JobPage(jobs=jobs, total=total, limit=limit, offset=offset)

"""The baseline of (a): FastAPI alone, accepting a small body and adding a no-op background task.

It is what "accept now, work later" costs with no job store and no broker:
validate, schedule an `async def` BackgroundTasks task, answer 202. It is
served exactly as `python -m gateway` serves the gateway (`uvicorn.run`, one
worker, access log off); uvicorn's "auto" picks uvloop and httptools for both.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import BackgroundTasks, FastAPI
from pydantic import BaseModel


class EmailBody(BaseModel):
    to: list[str]
    subject: str
    text: str


app = FastAPI(title="bench baseline")


async def _nothing() -> None:
    """The background work: none, so only FastAPI's own cost is measured."""


@app.post("/v1/emails", status_code=202)
async def accept(body: EmailBody, background: BackgroundTasks) -> dict[str, str]:
    """Accept an email and do nothing with it, later."""
    background.add_task(_nothing)
    return {"status": "accepted"}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    # The same call as gateway/__main__.py, so only the app differs.
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()

"""Finishing jobs in a service's inbox, as a worker process does, to run several writers at once.

`python -m support.inbox_writer URL PREFIX COUNT` (with `tests` on PYTHONPATH)
prints `ready` once imported, opens the inbox when a line arrives on stdin
(so a test can let several writers go at the same moment), then finishes
COUNT messages named PREFIX-0, PREFIX-1, ...: each is looked up, then
recorded, many at once as a consumer's prefetch allows. It exits 0 once all
are recorded; an error (such as SQLite's "database is locked") ends it with a traceback.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop

from runtime.inbox import Inbox

# Jobs in hand at once, as with the default PREFETCH and a few more.
AT_ONCE = 32


async def finish_all(url: str, prefix: str, count: int) -> None:
    inbox = Inbox(url)
    await inbox.open()

    async def finish(number: int) -> None:
        message_id = f"{prefix}-{number}"
        if await inbox.result_of(message_id) is not None:
            raise AssertionError(f"{message_id} was recorded before it was finished")
        await inbox.record(message_id, {"number": number})

    try:
        for first in range(0, count, AT_ONCE):
            await asyncio.gather(*(finish(number) for number in range(first, min(first + AT_ONCE, count))))
    finally:
        await inbox.close()


def main() -> None:
    url, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    sys.stdin.readline()
    uvloop.run(finish_all(url, prefix, count))


if __name__ == "__main__":
    main()

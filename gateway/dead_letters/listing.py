"""Listing dead letters, and grouping them by failure fingerprint, largest group first."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from gateway.dead_letters.browse import SERVICES, browsing, dead_letter_queue
from gateway.dead_letters.letters import DeadLetter
from runtime.broker import Broker


class FailureGroup(BaseModel):
    fingerprint: str
    service: str
    count: int
    reason: str
    error_type: str | None
    example_message: str | None


class DeadLetterListing(BaseModel):
    dead_letters: list[DeadLetter]
    count: int
    groups: list[FailureGroup]

    @classmethod
    def of(cls, letters: Sequence[DeadLetter]) -> DeadLetterListing:
        groups: dict[str, FailureGroup] = {}
        for letter in letters:
            group = groups.get(letter.fingerprint)
            if group is None:
                groups[letter.fingerprint] = FailureGroup(
                    fingerprint=letter.fingerprint,
                    service=letter.service,
                    count=1,
                    reason=letter.reason,
                    error_type=letter.error_type,
                    example_message=letter.error_message,
                )
            else:
                group.count += 1
        largest_first = sorted(groups.values(), key=lambda group: -group.count)
        return cls(dead_letters=list(letters), count=len(letters), groups=largest_first)


async def list_dead_letters(broker: Broker, service: str | None, limit: int = 1000) -> list[DeadLetter]:
    """Up to `limit` dead letters of `service` (of every service when None), oldest first.

    Every message stays in its queue. While a listing runs, the messages it
    holds are invisible to a concurrent replay.
    """
    services = list(SERVICES) if service is None else [service]
    queues = {name: dead_letter_queue(broker.topology, name) for name in services}
    letters: list[DeadLetter] = []
    for name, spec in queues.items():
        if len(letters) >= limit:
            break
        async with browsing(broker, spec) as browse:
            while len(letters) < limit:
                # Taken unacked and never acked: `browsing` hands it back.
                message = await browse.take()
                if message is None:
                    break
                letters.append(DeadLetter.from_message(name, message))
    return letters

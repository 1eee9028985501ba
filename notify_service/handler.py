"""Fan one requested notification out to its targets, and report each target's outcome.

Targets are sent to concurrently, within a bound shared by every job of the
service. Each target ends delivered, invalid (refused for good) or failing
(worth another try); finished ones are recorded at once (see `deliveries`).
A target's failure stays its own: whatever a provider raises for one target
becomes that target's outcome, and never cancels the sends to the others.
Then, for the runtime:

- some targets still failing: `TransientError`, so the job is retried for
  those alone (honouring the longest `Retry-After` a provider asked for);
- every target invalid: `PermanentError`, so the job is dead-lettered with the reasons;
- otherwise the job succeeds, and its result lists each target's outcome.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Mapping
from typing import Any

import structlog

from contracts.events import NotificationProvider, NotificationRequested
from notify_service.client import Unreachable
from notify_service.deliveries import Deliveries
from notify_service.destinations import RefusedDestination
from notify_service.outcomes import (
    MAX_ERROR_TEXT,
    Outcome,
    TargetFailed,
    unreachable,
    unsendable,
    without_userinfo,
)
from notify_service.providers import DeliveryKey, Provider, address_of
from runtime.errors import PermanentError, TransientError
from runtime.job import JobContext

log = structlog.get_logger("offload.notify")

# Up to this many targets the result lists every one; beyond, only those not delivered.
LIST_EVERY_TARGET_UP_TO = 1000
# Reasons quoted in a job's error message.
REASONS_SHOWN = 5


class NotifyHandler:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        unavailable: Mapping[str, str],
        deliveries: Deliveries,
        concurrency: int,
        default_provider: NotificationProvider,
    ) -> None:
        """`unavailable`: providers left out for lack of settings, with the reason;
        `default_provider`: for a request that names none."""
        self._providers = providers
        self._default_provider = default_provider
        self._unavailable = unavailable
        self._deliveries = deliveries
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)

    async def __call__(self, event: NotificationRequested, job: JobContext) -> dict[str, Any]:
        name = self._provider_for(event)
        provider = self._providers.get(name)
        if provider is None:
            reason = self._unavailable.get(name, "not known to this service")
            raise PermanentError(f"provider {name!r} is unavailable: {reason}")
        total = len(event.targets)
        outcomes = await self._deliveries.finished(event.job_id)
        pending = iter([index for index in range(total) if index not in outcomes])
        finished = len(outcomes)

        async with asyncio.TaskGroup() as tasks:

            async def work() -> None:
                nonlocal finished
                # Workers share one iterator, so each target is taken exactly once.
                for index in pending:
                    async with self._slots:
                        outcome = await self._send(provider, event, index)
                    if outcome.finished:
                        # Recorded alongside the next sends rather than before them, so
                        # records group into large commits; the task group still waits
                        # for every one before the handler returns (and the job is acked).
                        tasks.create_task(self._deliveries.record(event.job_id, index, outcome))
                        finished += 1
                    outcomes[index] = outcome
                    # A one-target job's outcome says all its progress would: two status publishes saved.
                    if total > 1:
                        await job.progress(finished, total, "targets")

            for _ in range(min(self._concurrency, total)):
                tasks.create_task(work())
        return verdict(event, name, outcomes)

    def _provider_for(self, event: NotificationRequested) -> NotificationProvider:
        """The provider the request names, or the default, which the contract could not check the targets against."""
        if event.provider is not None:
            return event.provider
        problem = event.misfit(self._default_provider)
        if problem is not None:
            raise PermanentError(
                f"no provider named, and the default one (NOTIFY_DEFAULT_PROVIDER={self._default_provider}) "
                f"does not suit the targets: {problem}"
            )
        return self._default_provider

    async def _send(self, provider: Provider, event: NotificationRequested, index: int) -> Outcome:
        target = event.targets[index]
        try:
            outcome = await provider.send(target, event, DeliveryKey(event.job_id, index))
        except RefusedDestination as refused:
            outcome = Outcome("invalid", None, f"refused destination: {refused}"[:MAX_ERROR_TEXT])
        except TargetFailed as failed:
            outcome = failed.outcome
        except Unreachable as error:
            outcome = unreachable(error)
        except Exception as error:
            # Whatever else a provider raises came from this target's data (an endpoint
            # its libraries cannot use, ...): it would fail the same way on every retry,
            # and it must not cancel the other targets' sends. The target is reported
            # invalid, so it is not acked silently; the traceback is for operators.
            log.error(
                "provider failed on a target",
                job_id=str(event.job_id),
                target_index=index,
                error=without_userinfo("".join(traceback.format_exception(error))),
            )
            outcome = unsendable(error)
        if outcome.status != "delivered":
            log.warning(
                "notification not delivered",
                job_id=str(event.job_id),
                target_index=index,
                outcome=outcome.status,
                status_code=outcome.status_code,
                error=outcome.error,
            )
        return outcome


def verdict(event: NotificationRequested, provider: str, outcomes: Mapping[int, Outcome]) -> dict[str, Any]:
    """The job's result, or the error that retries it or dead-letters it."""
    total = len(event.targets)
    counts = {
        status: sum(o.status == status for o in outcomes.values()) for status in ("delivered", "invalid", "failing")
    }
    summary = f"{counts['delivered']} delivered, {counts['invalid']} invalid, {counts['failing']} failing of {total}"
    if counts["failing"]:
        waits = [o.retry_after for o in outcomes.values() if o.status == "failing" and o.retry_after is not None]
        raise TransientError(
            f"{summary}; will retry the failing ones: {_reasons(event, outcomes, 'failing')}",
            retry_after=max(waits, default=None),
        )
    if counts["invalid"] == total:
        raise PermanentError(f"every target refused ({summary}): {_reasons(event, outcomes, 'invalid')}")
    listed = [
        {"index": index, "target": _shown(address_of(event.targets[index])), **outcomes[index].as_dict()}
        for index in range(total)
        if total <= LIST_EVERY_TARGET_UP_TO or outcomes[index].status != "delivered"
    ][:LIST_EVERY_TARGET_UP_TO]
    return {
        "provider": provider,
        "total": total,
        "delivered": counts["delivered"],
        "invalid": counts["invalid"],
        "targets": listed,
        "targets_not_listed": total - len(listed),
    }


def _reasons(event: NotificationRequested, outcomes: Mapping[int, Outcome], status: str) -> str:
    matching = [(i, o) for i, o in sorted(outcomes.items()) if o.status == status]
    shown = "; ".join(
        f"target {i} ({_shown(address_of(event.targets[i]))}): {o.error}" for i, o in matching[:REASONS_SHOWN]
    )
    more = len(matching) - REASONS_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def _shown(address: str, limit: int = 120) -> str:
    address = without_userinfo(address)
    return address if len(address) <= limit else address[: limit - 1] + "…"

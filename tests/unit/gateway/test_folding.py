"""How one status event changes a job's row (gateway/folding.py), with no database involved.

The store's tests (tests/integration/gateway/test_store.py) check that what
these rules decide is written and read back; the rules themselves are tested here.
"""

from datetime import timedelta
from typing import Any
from uuid import uuid4

from contracts.events import (
    DeadLetterReason,
    JobDeadLettered,
    JobProgressed,
    JobQueued,
    JobRetryScheduled,
    JobStarted,
    JobStatus,
    JobSucceeded,
    Progress,
    StatusEvent,
    TaskType,
)
from gateway.folding import event_key, fold, queued_row
from support.status_events import BOOM, T0, about, at

NOW = T0 + timedelta(hours=1)
JOB_ID = uuid4()


def queued() -> dict[str, Any]:
    return queued_row(JOB_ID, TaskType.email, created_at=T0, now=T0)


def fold_all(row: dict[str, Any], *events: StatusEvent) -> dict[str, Any]:
    for event in events:
        row = {**row, **(fold(row, event, now=NOW) or {})}
    return row


def test_queued_sets_status_without_counting_an_attempt() -> None:
    changes = fold(queued(), JobQueued(**about(JOB_ID, seconds=1)), now=NOW)

    assert changes is not None
    assert changes["status"] == "queued"
    assert "attempts" not in changes
    assert changes["updated_at"] == NOW


def test_started_runs_the_job_and_records_when() -> None:
    row = fold_all(queued(), JobStarted(**about(JOB_ID, seconds=2)))

    assert row["status"] == "running"
    assert row["attempts"] == 1
    assert row["started_at"] == at(2)
    assert row["finished_at"] is None


def test_a_second_start_keeps_the_first_started_at() -> None:
    row = fold_all(
        queued(),
        JobStarted(**about(JOB_ID, attempt=1, seconds=2)),
        JobStarted(**about(JOB_ID, attempt=2, seconds=20)),
    )

    assert row["started_at"] == at(2)
    assert row["attempts"] == 2


def test_progressed_keeps_the_latest_progress() -> None:
    row = fold_all(
        queued(),
        JobStarted(**about(JOB_ID, seconds=1)),
        JobProgressed(**about(JOB_ID, seconds=2), progress=Progress(done=10, total=100)),
        JobProgressed(**about(JOB_ID, seconds=3), progress=Progress(done=40, total=100)),
    )

    assert row["status"] == "running"
    assert row["progress"] == {"done": 40, "total": 100, "unit": "items"}
    assert row["attempts"] == 1


def test_progressed_does_not_count_an_attempt() -> None:
    changes = fold(queued(), JobProgressed(**about(JOB_ID, attempt=3), progress=Progress(done=1)), now=NOW)

    assert changes is not None
    assert "attempts" not in changes


def test_succeeded_sets_result_clears_error_and_finishes() -> None:
    row = fold_all(
        queued(),
        JobRetryScheduled(**about(JOB_ID, attempt=1, seconds=1), error=BOOM, retry_in_seconds=5),
        JobSucceeded(**about(JOB_ID, attempt=2, seconds=10), result={"message_id": "<a@b>"}),
    )

    assert row["status"] == "succeeded"
    assert row["result"] == {"message_id": "<a@b>"}
    assert row["error"] is None
    assert row["finished_at"] == at(10)
    assert row["attempts"] == 2


def test_retry_scheduled_records_the_error_and_the_delay() -> None:
    row = fold_all(queued(), JobRetryScheduled(**about(JOB_ID, seconds=1), error=BOOM, retry_in_seconds=2.5))

    assert row["status"] == "retrying"
    assert row["error"] == {
        "type": "SMTPServerDisconnected",
        "message": "connection lost",
        "retry_in_seconds": 2.5,
    }
    assert row["attempts"] == 1
    assert row["finished_at"] is None


def test_dead_lettered_records_the_reason_and_finishes() -> None:
    row = fold_all(
        queued(),
        JobDeadLettered(**about(JOB_ID, attempt=5, seconds=9), error=BOOM, reason=DeadLetterReason.retries_exhausted),
    )

    assert row["status"] == "dead_lettered"
    assert row["error"] == {
        "type": "SMTPServerDisconnected",
        "message": "connection lost",
        "reason": "retries_exhausted",
    }
    assert row["finished_at"] == at(9)
    assert row["attempts"] == 5
    assert row["result"] is None


def test_a_late_progress_after_success_is_ignored() -> None:
    done = fold_all(
        queued(),
        JobStarted(**about(JOB_ID, seconds=1)),
        JobSucceeded(**about(JOB_ID, seconds=5), result={"ok": True}),
    )

    late = JobProgressed(**about(JOB_ID, seconds=3), progress=Progress(done=50))
    assert fold(done, late, now=NOW) is None


def test_a_progress_stamped_after_success_in_the_same_attempt_is_still_ignored() -> None:
    done = fold_all(queued(), JobSucceeded(**about(JOB_ID, seconds=5)))

    # Clocks differ between services: rank, not time, orders an attempt's steps.
    skewed = JobProgressed(**about(JOB_ID, seconds=6), progress=Progress(done=50))
    assert fold(done, skewed, now=NOW) is None


def test_an_older_attempts_event_is_ignored() -> None:
    second_try = fold_all(queued(), JobStarted(**about(JOB_ID, attempt=2, seconds=10)))

    # Stamped later, but it belongs to the first attempt.
    late_retry = JobRetryScheduled(**about(JOB_ID, attempt=1, seconds=11), error=BOOM, retry_in_seconds=1)
    assert fold(second_try, late_retry, now=NOW) is None
    assert fold(second_try, JobQueued(**about(JOB_ID, attempt=1, seconds=0)), now=NOW) is None


def test_reordered_events_end_in_the_same_state() -> None:
    events = [
        JobQueued(**about(JOB_ID, seconds=0)),
        JobStarted(**about(JOB_ID, seconds=1)),
        JobProgressed(**about(JOB_ID, seconds=2), progress=Progress(done=5, total=10)),
        JobSucceeded(**about(JOB_ID, seconds=3), result={"n": 10}),
    ]

    in_order = fold_all(queued(), *events)
    reversed_ = fold_all(queued(), *reversed(events))

    assert in_order["status"] == reversed_["status"] == "succeeded"
    assert in_order["result"] == reversed_["result"] == {"n": 10}
    assert in_order["finished_at"] == reversed_["finished_at"] == at(3)


def test_a_redelivered_event_applies_again_with_the_same_effect() -> None:
    event = JobSucceeded(**about(JOB_ID, seconds=3), result={"n": 1})
    once = fold_all(queued(), event)

    again = fold(once, event, now=NOW)

    assert again is not None
    assert {**once, **again} == once


def test_a_later_attempt_overrides_a_dead_letter() -> None:
    dead = fold_all(
        queued(),
        JobDeadLettered(**about(JOB_ID, attempt=3, seconds=10), error=BOOM, reason=DeadLetterReason.permanent_error),
    )

    # An operator replays the dead letter: it comes back as attempt 4.
    replayed = fold_all(
        dead,
        JobStarted(**about(JOB_ID, attempt=4, seconds=100)),
        JobSucceeded(**about(JOB_ID, attempt=4, seconds=101), result={"replayed": True}),
    )

    assert replayed["status"] == "succeeded"
    assert replayed["attempts"] == 4
    assert replayed["error"] is None
    assert replayed["finished_at"] == at(101)


def test_a_replayed_job_that_is_running_is_not_finished() -> None:
    dead = fold_all(
        queued(),
        JobDeadLettered(**about(JOB_ID, attempt=3, seconds=10), error=BOOM, reason=DeadLetterReason.permanent_error),
    )

    running = fold_all(dead, JobStarted(**about(JOB_ID, attempt=4, seconds=100)))

    assert running["status"] == "running"
    assert running["finished_at"] is None


def test_retry_then_success_counts_two_attempts() -> None:
    row = fold_all(
        queued(),
        JobStarted(**about(JOB_ID, attempt=1, seconds=1)),
        JobRetryScheduled(**about(JOB_ID, attempt=1, seconds=2), error=BOOM, retry_in_seconds=4),
        JobStarted(**about(JOB_ID, attempt=2, seconds=6)),
        JobSucceeded(**about(JOB_ID, attempt=2, seconds=7)),
    )

    assert row["status"] == "succeeded"
    assert row["attempts"] == 2
    assert row["error"] is None
    assert row["result"] == {}
    assert row["started_at"] == at(1)
    assert row["finished_at"] == at(7)


def test_events_older_than_the_outcome_change_nothing() -> None:
    row = fold_all(
        queued(),
        JobSucceeded(**about(JOB_ID, seconds=5), result={"ok": True}),
        JobProgressed(**about(JOB_ID, seconds=4), progress=Progress(done=1)),
        JobStarted(**about(JOB_ID, seconds=1)),
        JobQueued(**about(JOB_ID, seconds=0)),
    )

    assert row["status"] == "succeeded"
    assert row["progress"] is None
    assert row["started_at"] is None
    assert row["result"] == {"ok": True}
    assert row["finished_at"] == at(5)


def test_progress_outlives_the_success_that_follows_it() -> None:
    row = fold_all(
        queued(),
        JobStarted(**about(JOB_ID, seconds=1)),
        JobProgressed(**about(JOB_ID, seconds=2), progress=Progress(done=3, total=4, unit="rows")),
        JobSucceeded(**about(JOB_ID, seconds=3), result={"message_id": "<x@y>"}),
    )

    assert row["status"] == JobStatus.succeeded
    assert row["progress"] == {"done": 3, "total": 4, "unit": "rows"}
    assert row["created_at"] == T0


def test_the_highest_keyed_event_is_the_last_word() -> None:
    # Attempt before rank, rank before time: a retry stamped earlier still
    # outranks the progress of its attempt, and a later attempt outranks both.
    progressed = JobProgressed(**about(JOB_ID, attempt=1, seconds=9), progress=Progress(done=1))
    retried = JobRetryScheduled(**about(JOB_ID, attempt=1, seconds=8), error=BOOM, retry_in_seconds=1)
    second = JobQueued(**about(JOB_ID, attempt=2, seconds=0))
    replayed = JobQueued(**{**about(JOB_ID, attempt=1, seconds=0), "replay": 1})

    assert sorted([replayed, second, retried, progressed], key=event_key) == [progressed, retried, second, replayed]


def row(**overrides: Any) -> dict[str, Any]:
    return {**queued_row(uuid4(), TaskType.email, created_at=T0, now=T0), **overrides}


def succeeded(**fields: Any) -> JobSucceeded:
    return JobSucceeded(task_type=TaskType.email, service="email", occurred_at=T0, **fields)


def test_an_event_of_a_replay_the_gateway_never_made_is_ignored() -> None:
    assert fold(row(), succeeded(replay=1), now=NOW, max_attempts=5) is None
    assert fold(row(replays=1), succeeded(replay=1), now=NOW, max_attempts=5) is not None
    assert fold(row(replays=1), succeeded(replay=1000, attempt=1000), now=NOW, max_attempts=5) is None


def test_an_attempt_past_the_retry_policy_is_ignored() -> None:
    assert fold(row(), JobStarted(task_type="email", service="email", attempt=6), now=NOW, max_attempts=5) is None
    assert fold(row(), JobStarted(task_type="email", service="email", attempt=5), now=NOW, max_attempts=5)


def test_a_forged_outcome_cannot_outrank_the_real_events() -> None:
    job = row(status="succeeded", result={"real": True}, last_attempt=1, last_rank=3, last_event_at=T0)

    assert fold(job, succeeded(replay=1000, attempt=1000, result={"forged": True}), now=NOW, max_attempts=5) is None

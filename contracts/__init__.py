"""Offload's message contracts: what travels on the wire and where it goes.

Install the package without extras (`pip install offload`) to publish events
from any Python program; see `contracts.events` for the messages and
`contracts.topology` for the exchanges and queues.
"""

from contracts.events import (
    SCHEMA_VERSION,
    AnalysisRequested,
    DeadLetterReason,
    EmailRequested,
    Envelope,
    ErrorInfo,
    FileProcessingRequested,
    JobDeadLettered,
    JobProgressed,
    JobQueued,
    JobRetryScheduled,
    JobStarted,
    JobStatus,
    JobStatusEvent,
    JobSucceeded,
    NotificationRequested,
    Progress,
    StatusEvent,
    TaskEvent,
    TaskType,
)
from contracts.topology import RetryPolicy, Topology

__all__ = [
    "SCHEMA_VERSION",
    "AnalysisRequested",
    "DeadLetterReason",
    "EmailRequested",
    "Envelope",
    "ErrorInfo",
    "FileProcessingRequested",
    "JobDeadLettered",
    "JobProgressed",
    "JobQueued",
    "JobRetryScheduled",
    "JobStarted",
    "JobStatus",
    "JobStatusEvent",
    "JobSucceeded",
    "NotificationRequested",
    "Progress",
    "RetryPolicy",
    "StatusEvent",
    "TaskEvent",
    "TaskType",
    "Topology",
]

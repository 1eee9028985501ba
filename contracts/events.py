"""The messages Offload puts on the wire.

Each task is a plain payload model (`Email`, ...) that the gateway accepts as
a request body; the event on the wire is that payload plus the envelope
(`EmailRequested`). Two families: task events ask a service to do work (`EmailRequested`, ...);
status events report what happened to a job (`JobStarted`, `JobSucceeded`, ...).
Every message carries the same envelope, and the `type` field names the
message and doubles as its routing key on the events exchange (each message
class's `routing_key`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, NamedTuple
from uuid import UUID, uuid4

from email_validator import validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.analysis import DataValue, Operation
from contracts.bounds import (
    MAX_ATTEMPT,
    MAX_EMAIL_BODY_CHARS,
    MAX_ERROR_TEXT,
    MAX_ERROR_TYPE,
    MAX_INT64,
    MAX_REPLAYS,
    MAX_RETRY_SECONDS,
    SERVICE_NAME_PATTERN,
)
from contracts.notification import NotificationTarget
from contracts.paths import MAX_REFERENCE_LENGTH, PATH_SCHEMA, path_problem

SCHEMA_VERSION = "1.0"
SUPPORTED_MAJOR = 1
# "<major>.<minor>" in ASCII digits; the schemas accept the supported major only.
_VERSION = re.compile(r"([0-9]+)\.([0-9]+)")
VERSION_PATTERN = rf"^0*{SUPPORTED_MAJOR}\.[0-9]+$"

# Envelope fields a publisher must send: their defaults are for code building events.
WIRE_REQUIRED = ("message_id", "job_id", "type", "version", "created_at")

# Validation context for messages read off the wire (see `Envelope`).
FROM_THE_WIRE = {"wire": True}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _given(field: str) -> dict[str, Any]:
    """JSON Schema for "`field` is there and not null", as an optional field with a None default reads it."""
    return {**_has(field), "properties": {field: {"not": {"type": "null"}}}}


def _has(field: str) -> dict[str, Any]:
    """JSON Schema for "an object with `field`", which strict validators want its `properties` to name."""
    return {"type": "object", "required": [field], "properties": {field: True}}


class TaskType(StrEnum):
    email = "email"
    file = "file"
    notification = "notification"
    analysis = "analysis"


class Envelope(BaseModel):
    """Fields every message carries, whoever published it."""

    # Unknown fields are ignored rather than refused, so that a publisher on a
    # newer minor version of the contract still reaches an older consumer.
    model_config = ConfigDict(frozen=True)

    routing_key: ClassVar[str]
    """The message's `type`, which routes it on the events exchange; set from each message class's `type` field."""

    message_id: UUID = Field(default_factory=uuid4)
    job_id: UUID = Field(default_factory=uuid4)
    version: str = Field(
        default=SCHEMA_VERSION,
        max_length=16,
        description=f"The contract version the publisher speaks: '{SUPPORTED_MAJOR}.<minor>'.",
        json_schema_extra={"pattern": VERSION_PATTERN},
    )
    created_at: AwareDatetime = Field(default_factory=utc_now)
    attempt: int = Field(default=1, ge=1, le=MAX_ATTEMPT, description="1 for the first try, +1 for each retry.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # The `type` field's one value is written once, as its default; the
        # routing key is read from there rather than typed a second time.
        if (message_type := cls.model_fields.get("type")) is not None:
            cls.routing_key = message_type.default

    @model_validator(mode="before")
    @classmethod
    def _complete_on_the_wire(cls, data: Any, info: ValidationInfo) -> Any:
        # Built in Python, an event may take its ids from the defaults; read off
        # the wire it must bring them, or each redelivery would get new ones
        # and could never be recognised as a repeat.
        if (info.context or {}).get("wire") and isinstance(data, dict):
            missing = [name for name in WIRE_REQUIRED if name not in data]
            if missing:
                raise ValueError(f"a published message must carry {', '.join(missing)}")
        return data

    @field_validator("version")
    @classmethod
    def _known_major_version(cls, version: str) -> str:
        parts = _VERSION.fullmatch(version)
        if parts is None:
            raise ValueError(f"version must look like '{SCHEMA_VERSION}', got {version!r}")
        major = parts.group(1)
        if int(major) != SUPPORTED_MAJOR:
            raise ValueError(f"unsupported major version {major} (this consumer speaks {SUPPORTED_MAJOR}.x)")
        return version

    def next_attempt(self) -> Envelope:
        return self.model_copy(update={"attempt": self.attempt + 1})


# What cannot go in one line of an email header, by Unicode category. Cc is
# CR, LF and every other control (tab, \x0b, \x85, ...); Zl and Zp are the
# line and paragraph separators: with Cc they hold everything str.splitlines()
# splits on. Cf are invisible format characters, which can hide text or
# reorder what a reader sees (bidi overrides); Cs, lone surrogates, have no
# UTF-8 form at all.
_NOT_IN_A_HEADER = {
    "Cc": "a control character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cf": "an invisible format character",
    "Cs": "a lone surrogate",
}
# Format characters that real text needs: emoji sequences and scripts such as
# Persian and Devanagari are written with the zero-width (non-)joiner.
_JOINERS = frozenset("\u200c\u200d")


def header_text_problem(text: str) -> str | None:
    """Why `text` cannot be one line of an email header, or None if it can."""
    for position, char in enumerate(text):
        kind = _NOT_IN_A_HEADER.get(unicodedata.category(char))
        if kind is not None and char not in _JOINERS:
            name = unicodedata.name(char, "")
            return (
                f"character {position + 1} is U+{ord(char):04X}{' ' + name if name else ''}, {kind}; "
                "an email header takes one line of visible text"
            )
    return None


def _one_header_line(text: str) -> str:
    problem = header_text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


def address_problem(address: str) -> str | None:
    """Why the email service cannot send to or name `address`, or None if it can."""
    local_part = address.rpartition("@")[0]
    # Refused rather than sent with SMTPUTF8, which many servers on the way
    # lack: a mail that could not be delivered is better refused up front.
    if not local_part.isascii():
        return (
            f"{address!r}: the part before '@' must be ASCII "
            "(mailbox names in other scripts need SMTPUTF8, which Offload does not use)"
        )
    if "=?" in address:
        return f"{address!r}: '=?' in an address would be read as an RFC 2047 encoded word"
    return None


def _sendable(address: str) -> str:
    problem = address_problem(address)
    if problem is not None:
        raise ValueError(problem)
    # EmailStr gives an internationalised domain in Unicode; SMTP and the
    # headers need its ASCII (IDNA) form, so that is the form the event carries.
    return validate_email(address, check_deliverability=False).ascii_email


# Header-safe text: a line break is how header injection starts, and encoded
# or not, the contract refuses it before any service sees it.
SingleLine = Annotated[
    str,
    AfterValidator(_one_header_line),
    Field(description="One line of visible text: no line breaks, controls or invisible format characters."),
]
# An address the email service can put in a header and an SMTP envelope, in ASCII.
Mailbox = Annotated[EmailStr, AfterValidator(_sendable)]


def _text_or_html(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [_given("text"), _given("html")]


class Email(BaseModel):
    """One email to send.

    The whole message must fit in the consumers' message size cap (1 MiB by
    default) as UTF-8 JSON: a text and html of the longest length in characters
    outside ASCII would not.
    """

    model_config = ConfigDict(frozen=True, json_schema_extra=_text_or_html)

    to: list[Mailbox] = Field(min_length=1, max_length=100)
    cc: list[Mailbox] = Field(default_factory=list, max_length=100)
    bcc: list[Mailbox] = Field(default_factory=list, max_length=100)
    reply_to: list[Mailbox] = Field(default_factory=list, max_length=10)
    subject: SingleLine = Field(min_length=1, max_length=998)
    text: str | None = Field(default=None, max_length=MAX_EMAIL_BODY_CHARS)
    html: str | None = Field(default=None, max_length=MAX_EMAIL_BODY_CHARS)

    @model_validator(mode="after")
    def _has_a_body(self) -> Email:
        if self.text is None and self.html is None:
            raise ValueError("an email needs a text or an html body (or both)")
        return self


class EmailRequested(Email, Envelope):
    type: Literal["email.requested"] = "email.requested"


# A file in storage; the schema states `path_problem`'s rules (checked by the validators below).
StoredPath = Annotated[str, Field(min_length=1, max_length=MAX_REFERENCE_LENGTH, json_schema_extra=PATH_SCHEMA)]

FileOperation = Literal["checksum", "csv_stats", "csv_to_parquet", "gzip", "gunzip"]


class FileProcessing(BaseModel):
    """Operations on a file that is already in storage (claim check: never its bytes)."""

    model_config = ConfigDict(frozen=True)

    source: StoredPath
    operations: list[FileOperation] = Field(min_length=1)

    @field_validator("source")
    @classmethod
    def _could_be_under_a_root(cls, source: str) -> str:
        problem = path_problem(source)
        if problem:
            raise ValueError(problem)
        return source

    @field_validator("operations")
    @classmethod
    def _no_repeats(cls, operations: list[str]) -> list[str]:
        if len(set(operations)) != len(operations):
            raise ValueError("each operation may be asked for once")
        return operations


class FileProcessingRequested(FileProcessing, Envelope):
    type: Literal["file.requested"] = "file.requested"


NotificationProvider = Literal["webhook", "webpush", "fcm", "log"]

# The address a provider's targets carry; None: any will do (the log provider writes whatever it gets).
_PROVIDER_ADDRESS: dict[str, str | None] = {"webhook": "url", "webpush": "endpoint", "fcm": "token", "log": None}


def _targets_of_the_provider(schema: dict[str, Any]) -> None:
    schema["allOf"] = [
        {
            "if": {**_has("provider"), "properties": {"provider": {"const": provider}}},
            "then": {
                "type": "object",
                "properties": {"targets": {"type": "array", "items": _has(address)}},
            },
        }
        for provider, address in _PROVIDER_ADDRESS.items()
        if address is not None
    ]


class Notification(BaseModel):
    """One push notification for one or many targets of one provider.

    `provider` None: the notify service's configured default, which checks
    the targets against itself (NOTIFY_DEFAULT_PROVIDER).
    """

    model_config = ConfigDict(frozen=True, json_schema_extra=_targets_of_the_provider)

    provider: NotificationProvider | None = None
    targets: list[NotificationTarget] = Field(min_length=1, max_length=10_000)
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(max_length=4096)
    data: dict[str, str] = Field(default_factory=dict)

    def misfit(self, provider: NotificationProvider) -> str | None:
        """Why the targets do not suit `provider` (the first target that does not), or None."""
        expected = _PROVIDER_ADDRESS[provider]
        for index, target in enumerate(self.targets):
            if expected is not None and target.address_field != expected:
                return (
                    f"targets[{index}]: provider {provider!r} needs targets "
                    f"with {expected!r}, got one with {target.address_field!r}"
                )
        return None

    @model_validator(mode="after")
    def _targets_fit_provider(self) -> Notification:
        problem = self.misfit(self.provider) if self.provider is not None else None
        if problem is not None:
            raise ValueError(problem)
        return self


class NotificationRequested(Notification, Envelope):
    type: Literal["notification.requested"] = "notification.requested"


Record = dict[str, DataValue]


def _records_or_dataset(schema: dict[str, Any]) -> None:
    schema["oneOf"] = [_given("records"), _given("dataset")]


class Analysis(BaseModel):
    """A declared pandas pipeline over inline records or a stored dataset (exactly one of them)."""

    model_config = ConfigDict(frozen=True, json_schema_extra=_records_or_dataset)

    records: list[Record] | None = None
    dataset: StoredPath | None = None
    operations: list[Operation] = Field(min_length=1, max_length=50)

    @field_validator("dataset")
    @classmethod
    def _could_be_under_a_root(cls, dataset: str | None) -> str | None:
        problem = path_problem(dataset) if dataset is not None else None
        if problem:
            raise ValueError(problem)
        return dataset

    @model_validator(mode="after")
    def _one_input(self) -> Analysis:
        if (self.records is None) == (self.dataset is None):
            raise ValueError("give exactly one of 'records' or 'dataset'")
        return self


class AnalysisRequested(Analysis, Envelope):
    type: Literal["analysis.requested"] = "analysis.requested"


TaskEvent = Annotated[
    EmailRequested | FileProcessingRequested | NotificationRequested | AnalysisRequested,
    Field(discriminator="type"),
]

TASK_EVENTS: dict[TaskType, type[Envelope]] = {
    TaskType.email: EmailRequested,
    TaskType.file: FileProcessingRequested,
    TaskType.notification: NotificationRequested,
    TaskType.analysis: AnalysisRequested,
}


class JobStatus(StrEnum):
    """Where a job stands, as `GET /v1/jobs/{id}` shows it."""

    queued = "queued"
    running = "running"
    retrying = "retrying"
    succeeded = "succeeded"
    dead_lettered = "dead_lettered"


class DeadLetterReason(StrEnum):
    invalid_message = "invalid_message"
    permanent_error = "permanent_error"
    retries_exhausted = "retries_exhausted"


class ErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str = Field(max_length=MAX_ERROR_TYPE, description="The exception class, e.g. 'SMTPRecipientsRefused'.")
    message: str = Field(max_length=MAX_ERROR_TEXT)


class Progress(BaseModel):
    model_config = ConfigDict(frozen=True)

    done: int = Field(ge=0, le=MAX_INT64)
    total: int | None = Field(default=None, ge=0, le=MAX_INT64)
    unit: str = Field(default="items", max_length=32)


class StatusEvent(Envelope):
    """A fact about a job; the gateway folds these into its job store."""

    task_type: TaskType
    service: str = Field(pattern=SERVICE_NAME_PATTERN, description="Who reported it: a service name or 'gateway'.")
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    replay: int = Field(
        default=0, ge=0, le=MAX_REPLAYS, description="How many times the job was replayed from its dead letter."
    )
    started_at: AwareDatetime | None = Field(
        default=None, description="On an outcome: when its attempt started (quick jobs send no job.started)."
    )


class JobQueued(StatusEvent):
    type: Literal["job.queued"] = "job.queued"


class JobStarted(StatusEvent):
    type: Literal["job.started"] = "job.started"


class JobProgressed(StatusEvent):
    type: Literal["job.progressed"] = "job.progressed"
    progress: Progress


class JobSucceeded(StatusEvent):
    type: Literal["job.succeeded"] = "job.succeeded"
    result: dict[str, Any] = Field(default_factory=dict)


class JobRetryScheduled(StatusEvent):
    type: Literal["job.retry_scheduled"] = "job.retry_scheduled"
    error: ErrorInfo
    retry_in_seconds: float = Field(ge=0, le=MAX_RETRY_SECONDS)


class JobDeadLettered(StatusEvent):
    type: Literal["job.dead_lettered"] = "job.dead_lettered"
    error: ErrorInfo
    reason: DeadLetterReason


JobStatusEvent = Annotated[
    JobQueued | JobStarted | JobProgressed | JobSucceeded | JobRetryScheduled | JobDeadLettered,
    Field(discriminator="type"),
]


class StatusStep(NamedTuple):
    """What a status event says of its job: the status it moves it to, and how late in an attempt it comes."""

    status: JobStatus
    rank: int


# Within one attempt: queued, then running (started and progressed tie, so the
# later of them wins by time), then a retry, then an outcome.
STATUS_STEPS: dict[type[StatusEvent], StatusStep] = {
    JobQueued: StatusStep(JobStatus.queued, 0),
    JobStarted: StatusStep(JobStatus.running, 1),
    JobProgressed: StatusStep(JobStatus.running, 1),
    JobSucceeded: StatusStep(JobStatus.succeeded, 3),
    JobRetryScheduled: StatusStep(JobStatus.retrying, 2),
    JobDeadLettered: StatusStep(JobStatus.dead_lettered, 3),
}

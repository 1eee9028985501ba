"""Dead letters an operator can work with: list them, group them, replay them.

`letters` reads a dead letter from any message, `fingerprints` says which
failures are of the same kind, `browse` takes a queue's messages without
acking them, `listing` lists and groups them, and `replaying` republishes
them. The failure headers themselves are read by `contracts.failures`.
"""

from gateway.dead_letters.browse import BROKER_ERRORS, SERVICES, BrokerUnavailable, UnknownService, dead_letter_queue
from gateway.dead_letters.fingerprints import fingerprint, normalise
from gateway.dead_letters.letters import DeadLetter, identity
from gateway.dead_letters.listing import DeadLetterListing, FailureGroup, list_dead_letters
from gateway.dead_letters.replaying import NotReplayed, ReplayCounter, ReplayReport, replay

__all__ = [
    "BROKER_ERRORS",
    "SERVICES",
    "BrokerUnavailable",
    "DeadLetter",
    "DeadLetterListing",
    "FailureGroup",
    "NotReplayed",
    "ReplayCounter",
    "ReplayReport",
    "UnknownService",
    "dead_letter_queue",
    "fingerprint",
    "identity",
    "list_dead_letters",
    "normalise",
    "replay",
]

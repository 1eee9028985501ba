"""AMQP headers Offload sets, so that a dead letter explains itself.

A dead-lettered message keeps its original body; these headers say why it
died, where it was going and how many times it was tried.
"""

REASON = "x-offload-reason"
ERROR_TYPE = "x-offload-error-type"
ERROR_MESSAGE = "x-offload-error-message"
ATTEMPTS = "x-offload-attempts"
ROUTING_KEY = "x-offload-routing-key"
SERVICE = "x-offload-service"
FAILED_AT = "x-offload-failed-at"
HISTORY = "x-offload-history"  # one line per failed attempt, oldest first
FIRST_FAILED_AT = "x-offload-first-failed-at"  # kept from the first failure on
REPLAYS = "x-offload-replays"  # set by a replay from the dead-letter queue
ATTEMPT = "x-offload-attempt"  # tries of a status event (its body's attempt is its job's)
# Who published a message that a consumer passed on (retried, dead-lettered,
# replayed): its user_id is then the consumer's own (see Broker.publisher_of).
PUBLISHED_BY = "x-offload-published-by"

CONTENT_TYPE = "application/json"

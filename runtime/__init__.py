"""The consumer runtime, written once and shared by every service.

A service hands `run()` its name, its handler and its settings; the runtime
connects, declares the topology, consumes with bounded prefetch, validates
each message against its contract, runs the handler, reports status, retries
transient failures through delay queues, dead-letters the rest with the
reason, and shuts down gracefully.
"""

from runtime.errors import PermanentError, TransientError
from runtime.job import JobContext
from runtime.service import Service, run, serve
from runtime.settings import ServiceSettings

__all__ = ["JobContext", "PermanentError", "Service", "ServiceSettings", "TransientError", "run", "serve"]

"""A local SMTP server that keeps every mail it receives as an .eml file.

`make run` starts it so that mail sent by the email service can be opened in
any mail client instead of vanishing. Run it with `python -m devtools.mail_sink`;
MAIL_SINK_HOST, MAIL_SINK_PORT and MAIL_SINK_DIR say where it listens and writes.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from uuid import uuid4

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class EmlDirectoryHandler:
    """Writes each message, as received, to `<arrival time>-<seq>-<random>.eml`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        # Orders mails that arrive within the same microsecond.
        self._sequence = itertools.count()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        arrived = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.directory / f"{arrived}-{next(self._sequence):06d}-{uuid4().hex[:8]}.eml"
        envelope_lines = (
            f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        # Written aside and renamed, so whoever watches the directory never
        # opens half a message.
        partial = path.with_suffix(".part")
        partial.write_bytes(envelope_lines + envelope.original_content)
        partial.replace(path)

        subject = BytesParser(policy=default_policy).parsebytes(envelope.original_content, headersonly=True)["Subject"]
        print(
            f"mail from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}: {subject!r} saved as {path}",
            flush=True,
        )
        return f"250 OK saved as {path.name}"


def start_sink(directory: Path, host: str, port: int) -> Controller:
    """Start the sink in a background thread; it accepts mail once this returns."""
    controller = Controller(EmlDirectoryHandler(directory), hostname=host, port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller


def main() -> None:
    host = os.environ.get("MAIL_SINK_HOST", "127.0.0.1")
    port = int(os.environ.get("MAIL_SINK_PORT", "1025"))
    directory = Path(os.environ.get("MAIL_SINK_DIR", "./var/mail"))

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    controller = start_sink(directory, host, port)
    print(f"mail sink listening on {host}:{port}, writing to {directory.resolve()}", flush=True)
    try:
        stopping.wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

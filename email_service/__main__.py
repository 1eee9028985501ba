"""`python -m email_service` (or `offload service email`): send the emails that jobs ask for."""

from email_service.handler import EmailHandler
from email_service.settings import EmailSettings
from email_service.smtp import SmtpMailer
from runtime import Service, run


def main() -> None:
    settings = EmailSettings()
    handler = EmailHandler(settings, SmtpMailer(settings))
    run(Service(name="email", handler=handler, settings=settings))


if __name__ == "__main__":
    # Through the command line, so that --help answers and unknown arguments are refused.
    from offload_cli.services import standalone

    standalone("email", main)(prog_name="python -m email_service")

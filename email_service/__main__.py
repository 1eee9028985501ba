"""`python -m email_service`: send the emails that jobs ask for."""

from email_service.handler import EmailHandler
from email_service.settings import EmailSettings
from runtime import Service, run


def main() -> None:
    settings = EmailSettings()
    run(Service(name="email", handler=EmailHandler(settings), settings=settings))


if __name__ == "__main__":
    main()

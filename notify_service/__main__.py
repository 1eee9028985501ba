"""`python -m notify_service`: push the notifications that jobs ask for."""

from notify_service.service import notify_handler
from notify_service.settings import NotifySettings
from runtime import Service, run


def main() -> None:
    settings = NotifySettings()
    run(Service(name="notify", handler=notify_handler(settings), settings=settings))


if __name__ == "__main__":
    main()

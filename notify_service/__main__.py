"""`python -m notify_service` (or `offload service notify`): push the notifications that jobs ask for."""

from notify_service.service import notify_handler
from notify_service.settings import NotifySettings
from runtime import Service, run


def main() -> None:
    settings = NotifySettings()
    run(Service(name="notify", handler=notify_handler(settings), settings=settings))


if __name__ == "__main__":
    # Through the command line, so that --help answers and unknown arguments are refused.
    from offload_cli.services import standalone

    standalone("notify", main)(prog_name="python -m notify_service")

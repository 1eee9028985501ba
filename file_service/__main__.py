"""`python -m file_service` (or `offload service file`): process the files that jobs point at."""

from file_service.handler import FileHandler
from file_service.settings import FileSettings
from runtime import Service, run


def main() -> None:
    settings = FileSettings()
    run(Service(name="file", handler=FileHandler(settings, settings.storage()), settings=settings))


if __name__ == "__main__":
    # Through the command line, so that --help answers and unknown arguments are refused.
    from offload_cli.services import standalone

    standalone("file", main)(prog_name="python -m file_service")

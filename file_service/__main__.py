"""`python -m file_service`: process the files that jobs point at."""

from file_service.handler import FileHandler
from file_service.settings import FileSettings
from runtime import Service, run


def main() -> None:
    settings = FileSettings()
    run(Service(name="file", handler=FileHandler(settings, settings.storage()), settings=settings))


if __name__ == "__main__":
    main()

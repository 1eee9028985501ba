"""`python -m analytics_service`: run the declared pandas pipelines that jobs ask for."""

from analytics_service.handler import AnalyticsHandler
from analytics_service.settings import AnalyticsSettings
from runtime import Service, run


def main() -> None:
    settings = AnalyticsSettings()
    handler = AnalyticsHandler(settings.storage(), settings)
    run(Service(name="analytics", handler=handler, settings=settings))


if __name__ == "__main__":
    main()

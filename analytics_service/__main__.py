"""`python -m analytics_service` (or `offload service analytics`): run the pandas pipelines that jobs ask for."""

from analytics_service.handler import AnalyticsHandler
from analytics_service.settings import AnalyticsSettings
from runtime import Service, run


def main() -> None:
    settings = AnalyticsSettings()
    handler = AnalyticsHandler(settings.storage(), settings)
    run(Service(name="analytics", handler=handler, settings=settings))


if __name__ == "__main__":
    # Through the command line, so that --help answers and unknown arguments are refused.
    from offload_cli.services import standalone

    standalone("analytics", main)(prog_name="python -m analytics_service")

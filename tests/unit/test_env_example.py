"""`.env.example` documents every setting, with the value the code defaults to; docs/settings.md names each."""

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from analytics_service.settings import AnalyticsSettings
from email_service.settings import EmailSettings
from file_service.settings import FileSettings
from gateway.settings import GatewaySettings
from notify_service.settings import NotifySettings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
SETTINGS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def env_names(settings: type[BaseSettings]) -> set[str]:
    return {(field.validation_alias or name).upper() for name, field in settings.model_fields.items()}


@pytest.mark.parametrize("settings", [GatewaySettings, EmailSettings, FileSettings, NotifySettings, AnalyticsSettings])
def test_every_setting_is_listed(settings):
    listed = {
        line.lstrip("# ").split("=", 1)[0]
        for line in EXAMPLE.read_text().splitlines()
        if "=" in line.lstrip("# ").split(" ", 1)[0]
    }
    assert env_names(settings) - listed == set()


@pytest.mark.parametrize("settings", [GatewaySettings, EmailSettings, FileSettings, NotifySettings, AnalyticsSettings])
def test_listed_values_are_the_defaults(settings, monkeypatch):
    for name in env_names(settings):
        monkeypatch.delenv(name, raising=False)
    assert settings(_env_file=EXAMPLE) == settings(_env_file=None)


@pytest.mark.parametrize("settings", [GatewaySettings, EmailSettings, FileSettings, NotifySettings, AnalyticsSettings])
def test_every_setting_is_in_the_settings_page(settings):
    page = SETTINGS_PAGE.read_text()
    assert {name for name in env_names(settings) if f"`{name}`" not in page} == set()

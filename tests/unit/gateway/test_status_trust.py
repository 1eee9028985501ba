"""Which status events the gateway believes: from whom (the screen).

What it believes of them (an impossible replay or attempt) is the fold's
rule, tested with the others in test_folding.py.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.events import JobSucceeded, TaskType
from gateway.settings import GatewaySettings
from gateway.status import trusted_only

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def succeeded(task_type: TaskType = TaskType.email, **fields: Any) -> JobSucceeded:
    return JobSucceeded(task_type=task_type, service="email", occurred_at=T0, **fields)


def test_the_default_trusts_each_service_user_of_the_namespace_for_its_own_tasks():
    screen = trusted_only(GatewaySettings(offload_namespace="shop").trusted_status_publishers())

    assert screen(succeeded(), "shop-email") is None
    assert screen(succeeded(TaskType.analysis), "shop-analytics") is None
    assert "reports for email only" in screen(succeeded(TaskType.analysis), "shop-email")
    for stranger in ("guest", "shop-publisher", "shop-gateway", "offload-email", "", None):
        assert "not a service user" in screen(succeeded(), stranger)


def test_an_event_without_a_user_id_is_refused_and_says_so():
    screen = trusted_only(GatewaySettings().trusted_status_publishers())

    assert "set no user_id" in screen(succeeded(), None)


def test_status_publishers_can_name_users_for_several_services():
    settings = GatewaySettings(status_publishers=" ops:email, ops:file ,robot:analytics")

    assert settings.trusted_status_publishers() == {"ops": {"email", "file"}, "robot": {"analytics"}}
    screen = trusted_only(settings.trusted_status_publishers())
    assert screen(succeeded(TaskType.file), "ops") is None
    assert screen(succeeded(TaskType.notification), "ops") is not None


def test_an_empty_setting_means_the_default_never_anyone():
    default = GatewaySettings().trusted_status_publishers()
    assert GatewaySettings(status_publishers="").trusted_status_publishers() == default


@pytest.mark.parametrize("value", ["guest", "guest:", ":email", "guest:*", "guest:mailer"])
def test_a_malformed_status_publishers_is_refused(value):
    with pytest.raises(ValidationError, match="STATUS_PUBLISHERS"):
        GatewaySettings(status_publishers=value)

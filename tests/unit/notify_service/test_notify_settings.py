"""Notify settings: a malformed value stops the service at startup; a missing one only turns its provider off."""

import base64
import json

import pytest
from py_vapid import Vapid
from pydantic import ValidationError

from notify_service.settings import NotifySettings


def settings(**fields) -> NotifySettings:
    return NotifySettings(_env_file=None, **fields)


def test_defaults_start_with_only_the_log_provider_configured():
    defaults = settings()

    assert defaults.notify_webhook_secret is None and defaults.notify_fcm_credentials_file is None
    assert defaults.deliveries_url == "sqlite+aiosqlite:///var/offload-notify-deliveries.db"
    assert defaults.destination_policy.allowed == ()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"notify_allowed_hosts": "hooks.example.com,https://x.example.com/"}, "NOTIFY_ALLOWED_HOSTS"),
        ({"notify_vapid_private_key": "not-a-key"}, "NOTIFY_VAPID_PRIVATE_KEY"),
        ({"notify_vapid_subject": "ops@example.com"}, "String should match pattern"),
        ({"notify_fcm_credentials_file": "/nonexistent/key.json"}, "NOTIFY_FCM_CREDENTIALS_FILE"),
        ({"notify_concurrency": 0}, "greater than or equal to 1"),
    ],
)
def test_malformed_settings_are_refused_with_the_setting_named(fields, message):
    with pytest.raises(ValidationError, match=message):
        settings(**fields)


def test_a_vapid_key_is_read_from_pem_or_raw_base64url():
    vapid = Vapid()
    vapid.generate_keys()
    raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")

    settings(notify_vapid_private_key=vapid.private_pem().decode())
    settings(notify_vapid_private_key=base64.urlsafe_b64encode(raw).rstrip(b"=").decode())


def test_the_fcm_project_defaults_to_the_credentials_file(tmp_path):
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"client_email": "a@b.iam", "private_key": "x", "project_id": "from-file"}))

    assert settings(notify_fcm_credentials_file=key).notify_fcm_project_id == "from-file"
    assert settings(notify_fcm_credentials_file=key, notify_fcm_project_id="p").notify_fcm_project_id == "p"
    key.write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(ValidationError, match="not a service-account key"):
        settings(notify_fcm_credentials_file=key)

"""How the notify service reaches its providers, and what it lets a request reach.

A provider's secrets are needed only when a job asks for that provider: a
service with no FCM credentials still sends webhooks, and an FCM job then
fails with a message naming the missing setting. A setting that is present
but malformed (an unreadable key, a bad allowlist entry) stops the service
at startup instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from contracts.events import NotificationProvider
from notify_service.destinations import DestinationPolicy
from notify_service.providers.webpush import load_vapid_key
from runtime.safety import secret_problem, url_credentials_problem
from runtime.settings import ServiceSettings

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"

# A webhook signing key shorter than this can be guessed from a few signed requests.
MIN_WEBHOOK_SECRET_LENGTH = 32


class NotifySettings(ServiceSettings):
    notify_default_provider: NotificationProvider = Field(
        "log", description="The provider of a request that names none; its targets must suit it."
    )
    notify_concurrency: int = Field(
        50, ge=1, le=1000, description="Provider requests in flight at once, across all jobs (and the pool size)."
    )
    notify_timeout: float = Field(10.0, gt=0, description="Seconds for any one provider request.")
    notify_allowed_hosts: str = Field(
        "",
        description="Comma-separated host, *.domain or host:port entries request URLs may reach; "
        "empty: any public https host. Only a host:port entry allows plain http and private addresses.",
    )
    notify_deliveries_url: str | None = Field(
        None,
        description="Where each target's outcome is recorded (SQLAlchemy URL); "
        "default: a SQLite file var/<namespace>-notify-deliveries.db.",
    )
    notify_webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key webhooks are signed with.")
    notify_vapid_private_key: SecretStr | None = Field(
        None, description="The VAPID key Web Push requests are signed with: PEM, or base64url of the raw 32 bytes."
    )
    notify_vapid_subject: str | None = Field(
        None, pattern=r"^(mailto:|https://)\S+$", description="Who push services contact: mailto: or https: URL."
    )
    notify_webpush_ttl: int = Field(
        86400, ge=0, le=2_419_200, description="Seconds a push service keeps a message for an offline browser."
    )
    notify_fcm_credentials_file: Path | None = Field(None, description="A Firebase service-account JSON key file.")
    notify_fcm_project_id: str | None = Field(
        None, description="The Firebase project; default: the project_id of the credentials file."
    )
    notify_fcm_base_url: str = Field("https://fcm.googleapis.com", description="The FCM HTTP v1 API.")
    notify_fcm_token_url: str = Field(
        "https://oauth2.googleapis.com/token", description="The OAuth2 token endpoint service-account tokens come from."
    )

    @field_validator("notify_allowed_hosts")
    @classmethod
    def _readable_allowlist(cls, value: str) -> str:
        try:
            DestinationPolicy.from_entries(value.split(","))
        except ValueError as error:
            raise ValueError(f"NOTIFY_ALLOWED_HOSTS: {error}") from error
        return value

    @field_validator("notify_vapid_private_key")
    @classmethod
    def _readable_vapid_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            load_vapid_key(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _readable_fcm_credentials(self) -> NotifySettings:
        if self.notify_fcm_credentials_file is not None:
            info = self.fcm_service_account()
            if self.notify_fcm_project_id is None:
                self.notify_fcm_project_id = info.get("project_id")
        return self

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        secrets = {
            "NOTIFY_WEBHOOK_SECRET": (self.notify_webhook_secret, MIN_WEBHOOK_SECRET_LENGTH),
            "NOTIFY_VAPID_PRIVATE_KEY": (self.notify_vapid_private_key, 0),
        }
        for setting, (secret, min_length) in secrets.items():
            if secret is not None and (
                problem := secret_problem(setting, secret.get_secret_value(), min_length=min_length)
            ):
                problems.append(problem)
        if self.notify_deliveries_url and (
            problem := url_credentials_problem("NOTIFY_DELIVERIES_URL", self.notify_deliveries_url)
        ):
            problems.append(problem)
        return problems

    @property
    def destination_policy(self) -> DestinationPolicy:
        return DestinationPolicy.from_entries(self.notify_allowed_hosts.split(","))

    @property
    def deliveries_url(self) -> str:
        return self.notify_deliveries_url or f"sqlite+aiosqlite:///var/{self.offload_namespace}-notify-deliveries.db"

    def fcm_service_account(self) -> dict[str, Any]:
        """The service-account key, checked for the fields a token request needs."""
        path = self.notify_fcm_credentials_file
        try:
            info = json.loads(Path(path).read_text()) if path else None
        except (OSError, ValueError) as error:
            raise ValueError(f"NOTIFY_FCM_CREDENTIALS_FILE {path}: {error}") from error
        missing = [k for k in ("client_email", "private_key") if not isinstance(info, dict) or not info.get(k)]
        if missing:
            raise ValueError(f"NOTIFY_FCM_CREDENTIALS_FILE {path}: not a service-account key (no {', '.join(missing)})")
        return info

"""The notify service's resources, opened for as long as it runs: HTTP clients, providers, deliveries.

Two pooled HTTP clients (see `client`): a guarded one for URLs that come from
requests (webhooks, Web Push endpoints; see `destinations`), and a plain one
for the FCM URLs, which come from the settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from notify_service.client import HttpClient, pooled_client
from notify_service.deliveries import Deliveries
from notify_service.handler import NotifyHandler
from notify_service.providers import Provider
from notify_service.providers.fcm import FcmProvider, ServiceAccountTokens
from notify_service.providers.log import LogProvider
from notify_service.providers.webhook import WebhookProvider
from notify_service.providers.webpush import WebPushProvider, load_vapid_key
from notify_service.settings import FCM_SCOPE, NotifySettings


@asynccontextmanager
async def notify_handler(settings: NotifySettings) -> AsyncIterator[NotifyHandler]:
    deliveries = Deliveries(settings.deliveries_url, timedelta(days=settings.inbox_retention_days))
    async with (
        pooled_client(settings.notify_concurrency, settings.notify_timeout, settings.destination_policy) as guarded,
        pooled_client(settings.notify_concurrency, settings.notify_timeout) as configured,
    ):
        providers, unavailable = build_providers(settings, guarded, configured)
        await deliveries.open()
        try:
            yield NotifyHandler(
                providers, unavailable, deliveries, settings.notify_concurrency, settings.notify_default_provider
            )
        finally:
            await deliveries.close()


def build_providers(
    settings: NotifySettings, guarded: HttpClient, configured: HttpClient
) -> tuple[dict[str, Provider], dict[str, str]]:
    """The providers the settings allow, and why each of the others is off."""
    providers: dict[str, Provider] = {"log": LogProvider()}
    unavailable: dict[str, str] = {}
    if settings.notify_webhook_secret is not None:
        providers["webhook"] = WebhookProvider(guarded, settings.notify_webhook_secret.get_secret_value().encode())
    else:
        unavailable["webhook"] = "NOTIFY_WEBHOOK_SECRET is not set (webhooks are always signed)"
    if settings.notify_vapid_private_key is not None and settings.notify_vapid_subject is not None:
        vapid = load_vapid_key(settings.notify_vapid_private_key.get_secret_value())
        providers["webpush"] = WebPushProvider(
            guarded, vapid, settings.notify_vapid_subject, settings.notify_webpush_ttl
        )
    else:
        unavailable["webpush"] = "NOTIFY_VAPID_PRIVATE_KEY and NOTIFY_VAPID_SUBJECT must both be set"
    if settings.notify_fcm_credentials_file is not None and settings.notify_fcm_project_id:
        tokens = ServiceAccountTokens(
            configured, settings.fcm_service_account(), settings.notify_fcm_token_url, FCM_SCOPE
        )
        providers["fcm"] = FcmProvider(configured, tokens, settings.notify_fcm_base_url, settings.notify_fcm_project_id)
    else:
        unavailable["fcm"] = (
            "NOTIFY_FCM_CREDENTIALS_FILE (and a project id, in it or NOTIFY_FCM_PROJECT_ID) must be set"
        )
    return providers, unavailable

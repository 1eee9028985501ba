"""The `fcm` provider: Firebase Cloud Messaging HTTP v1, with a service account's OAuth2 token.

The token comes from the configured token endpoint in exchange for a JWT the
service account's key signs (google-auth's signer), is cached until shortly
before it expires, and is fetched once however many sends wait for it. Both
URLs come from the settings, never from a request.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from google.auth import crypt, jwt

from contracts.events import Notification
from contracts.notification import DeviceTokenTarget, NotificationTarget
from notify_service.client import HttpClient, Unreachable
from notify_service.outcomes import Outcome, TargetFailed, classify, unreachable
from notify_service.providers import DeliveryKey

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600
# A token is replaced this long before it expires, so none goes out stale.
TOKEN_MARGIN = 300


class ServiceAccountTokens:
    def __init__(self, client: HttpClient, info: dict[str, Any], token_url: str, scope: str) -> None:
        self._client = client
        self._signer = crypt.RSASigner.from_service_account_info(info)
        self._email = info["client_email"]
        self._token_url = token_url
        self._scope = scope
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> str:
        """A valid access token; raises `TargetFailed` when the token endpoint refuses or is unreachable."""
        if self._token is not None and time.monotonic() < self._expires:
            return self._token
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                self._token, lifetime = await self._fetch()
                self._expires = time.monotonic() + max(lifetime - TOKEN_MARGIN, 0)
        return self._token

    def forget(self, token: str) -> None:
        """The API refused this token: the next send fetches another."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> tuple[str, float]:
        now = int(time.time())
        claims = {
            "iss": self._email,
            "scope": self._scope,
            "aud": self._token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        assertion = jwt.encode(self._signer, claims).decode()
        try:
            response = await self._client.post(self._token_url, form={"grant_type": JWT_BEARER, "assertion": assertion})
        except Unreachable as error:
            raise TargetFailed(unreachable(error, "OAuth2 token endpoint")) from error
        outcome = classify(response, "OAuth2 token endpoint")
        if outcome.status != "delivered":
            raise TargetFailed(outcome)
        try:
            answer = response.json()
            return str(answer["access_token"]), float(answer.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as error:
            # Not the targets' fault (a proxy's error page, an endpoint mid-deploy): retried.
            unreadable = Outcome("failing", response.status, "OAuth2 token endpoint answered without a usable token")
            raise TargetFailed(unreadable) from error


class FcmProvider:
    def __init__(self, client: HttpClient, tokens: ServiceAccountTokens, base_url: str, project_id: str) -> None:
        self._client = client
        self._tokens = tokens
        self._url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"

    async def send(self, target: NotificationTarget, notification: Notification, key: DeliveryKey) -> Outcome:
        assert isinstance(target, DeviceTokenTarget)  # the contract matches targets to providers
        token = await self._tokens.current()
        response = await self._client.post(
            self._url,
            body=json.dumps({"message": message(target, notification, key)}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        if response.status == 401:
            self._tokens.forget(token)
        return classify(response, "FCM")


def message(target: DeviceTokenTarget, notification: Notification, key: DeliveryKey) -> dict[str, Any]:
    """An FCM v1 message; the collapse keys make a redelivered copy replace the first on the device."""
    return {
        "token": target.token,
        "notification": {"title": notification.title, "body": notification.body},
        "data": dict(notification.data),
        "android": {"collapse_key": key.collapse_key},
        "apns": {"headers": {"apns-collapse-id": key.collapse_key}},
        "webpush": {"headers": {"Topic": key.topic}},
    }

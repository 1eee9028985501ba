"""The `webpush` provider: standard Web Push to a browser's push subscription.

pywebpush encrypts the payload for the subscription (RFC 8291, aes128gcm) and
py_vapid signs the VAPID claim (RFC 8292); the request itself goes through the
service's guarded HTTP client, so the endpoint, which the request supplies,
meets the same destination checks, timeouts and no-redirect rule as a webhook.
"""

from __future__ import annotations

import binascii
import json
import time

from py_vapid import Vapid, VapidException
from pywebpush import WebPusher, WebPushException
from yarl import URL

from contracts.events import Notification
from contracts.notification import NotificationTarget, WebPushTarget
from notify_service.client import HttpClient
from notify_service.outcomes import Outcome, classify
from notify_service.providers import DeliveryKey, payload

# A VAPID claim may live up to 24 hours; one is signed per push service and reused.
CLAIM_LIFETIME = 12 * 3600
CLAIM_RENEWAL = 3600


def load_vapid_key(text: str) -> Vapid:
    """A VAPID private key from PEM text, or from base64url (raw 32 bytes or DER)."""
    try:
        if "BEGIN" in text:
            return Vapid.from_pem(text.strip().encode())
        return Vapid.from_string(text.strip())
    except (VapidException, ValueError, TypeError, binascii.Error) as error:
        raise ValueError(f"NOTIFY_VAPID_PRIVATE_KEY is not a readable EC private key ({error})") from error


class WebPushProvider:
    def __init__(self, client: HttpClient, vapid: Vapid, subject: str, ttl: int) -> None:
        """`client` must be the guarded one: the endpoint comes from the request."""
        self._client = client
        self._vapid = vapid
        self._subject = subject
        self._ttl = ttl
        self._claims: dict[str, tuple[float, dict[str, str]]] = {}

    async def send(self, target: NotificationTarget, notification: Notification, key: DeliveryKey) -> Outcome:
        assert isinstance(target, WebPushTarget)  # the contract matches targets to providers
        endpoint = URL(str(target.endpoint))
        if endpoint.user is not None or endpoint.password is not None:
            # A push service authenticates us by the VAPID claim alone (and aiohttp
            # would refuse a URL's credentials next to an Authorization header).
            return Outcome("invalid", None, "a push endpoint carries no user name or password")
        subscription = {"endpoint": str(endpoint), "keys": {"p256dh": target.keys.p256dh, "auth": target.keys.auth}}
        try:
            encrypted = WebPusher(subscription).encode(json.dumps(payload(notification)).encode(), "aes128gcm")
        except (WebPushException, ValueError, binascii.Error) as error:
            return Outcome("invalid", None, f"unusable subscription keys: {error}")
        try:
            vapid = self._vapid_headers(str(endpoint.origin()))
        except (VapidException, ValueError) as error:
            # py_vapid takes only a host name or IPv4 address as the audience's host.
            return Outcome("invalid", None, f"no VAPID claim can name this endpoint's origin ({type(error).__name__})")
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Encoding": "aes128gcm",
            "TTL": str(self._ttl),
            # Same job, same topic: a redelivered copy replaces the one still queued.
            "Topic": key.topic,
            "Urgency": "normal",
            **vapid,
        }
        response = await self._client.post(str(endpoint), body=encrypted["body"], headers=headers)
        return classify(response, "push service")

    def _vapid_headers(self, audience: str) -> dict[str, str]:
        now = time.time()
        expires, headers = self._claims.get(audience, (0.0, {}))
        if expires - now < CLAIM_RENEWAL:
            expires = int(now + CLAIM_LIFETIME)
            headers = self._vapid.sign({"aud": audience, "sub": self._subject, "exp": expires})
            self._claims[audience] = (expires, headers)
        return headers

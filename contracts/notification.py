"""Where a push notification goes: the target shapes each provider understands."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Discriminator, Field, Tag


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    address_field: ClassVar[str]


class WebhookTarget(_Target):
    """An HTTP endpoint that receives a signed JSON POST."""

    address_field: ClassVar[str] = "url"
    url: AnyHttpUrl


class WebPushKeys(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    p256dh: str = Field(min_length=1, max_length=256)
    auth: str = Field(min_length=1, max_length=64)


class WebPushTarget(_Target):
    """A browser's Push API subscription, as `PushSubscription.toJSON()` gives it."""

    address_field: ClassVar[str] = "endpoint"
    endpoint: AnyHttpUrl
    keys: WebPushKeys


class DeviceTokenTarget(_Target):
    """A device registration token (FCM)."""

    address_field: ClassVar[str] = "token"
    token: str = Field(min_length=1, max_length=4096)


def _target_shape(value: Any) -> str | None:
    # Pick the target kind by the address it carries, so that a bad target gets
    # the errors of the one shape it was meant to be, not of all three.
    if isinstance(value, _Target):
        return value.address_field
    if not isinstance(value, dict):
        return None  # a list, a string, a number: no shape fits, a 422 says so
    for name in ("endpoint", "url", "token"):
        if name in value:
            return name
    return None


NotificationTarget = Annotated[
    Annotated[WebhookTarget, Tag("url")]
    | Annotated[WebPushTarget, Tag("endpoint")]
    | Annotated[DeviceTokenTarget, Tag("token")],
    Discriminator(
        _target_shape,
        custom_error_type="target_shape",
        custom_error_message="a target needs one of 'url', 'endpoint' or 'token'",
    ),
]

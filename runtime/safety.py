"""What counts as a development secret, so production settings can refuse one.

Problems are described by the setting's name only: a settings error is
printed and logged, and must never repeat the secret it is about.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

# Passwords that ship with something: RabbitMQ's guest user, the compose file's users.
# MinIO's minioadmin stands for S3 keys.
DEFAULT_PASSWORDS = frozenset({"guest", "offload", "postgres", "password", "changeme", "minioadmin"})
# The convention for development passwords (the broker's per-role users in development).
DEVELOPMENT_PREFIX = "dev-"


def is_development_secret(secret: str) -> bool:
    """Empty, shipped with something, or named as a development one."""
    folded = secret.strip().lower()
    return not folded or folded in DEFAULT_PASSWORDS or folded.startswith(DEVELOPMENT_PREFIX)


def url_credentials_problem(setting: str, url: str, *, default_user: str | None = None) -> str | None:
    """Why the credentials in `url` are not fit for production, or None.

    `default_user`: the user and password a client falls back to when the URL
    names none (AMQP clients log in as guest/guest).
    """
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return f"{setting} is not a URL"
    user = unquote(user) if user else default_user
    password = unquote(password) if password is not None else default_user
    if user is not None and user.lower() == "guest":
        return f"{setting} logs in as guest"
    if password is not None and is_development_secret(password):
        return f"{setting} has a default or development password"
    return None


def secret_problem(setting: str, secret: str | None, *, min_length: int = 0) -> str | None:
    """Why `secret` is not fit for production, or None (an unset secret is for its setting to judge)."""
    if secret is None:
        return None
    if is_development_secret(secret):
        return f"{setting} is a default or development secret"
    if len(secret) < min_length:
        return f"{setting} is shorter than {min_length} characters"
    return None

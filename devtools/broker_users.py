"""Broker users for each role, from contracts/permissions.py: on a local broker, or as a file.

    python -m devtools.broker_users create [--namespace offload] [--vhost /]
    python -m devtools.broker_users env [--namespace offload]      # shell exports, per role
    python -m devtools.broker_users delete [--namespace offload]
    python -m devtools.broker_users definitions [PATH]             # compose's definitions file

`create` runs `rabbitmqctl` (so it needs the local broker's Erlang cookie, as
root or the rabbitmq user) to add `<namespace>-<role>` users with development
passwords and set their permissions; it can run again at will. `env` prints
`GATEWAY_AMQP_URL=...`, `EMAIL_AMQP_URL=...` and so on, built from AMQP_URL's
host, port and vhost, for the Procfile. `definitions` writes the same users,
with hashed passwords, as a RabbitMQ definitions file for compose.

Development passwords start with `dev-`, which a production gateway or service
refuses: a deployment sets its own users and passwords.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from contracts.permissions import ROLES, Permissions, role_permissions, user_name
from contracts.topology import SERVICE_TASKS, Topology
from runtime.broker import user_in

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "rabbitmq" / "definitions.json"
LOCAL_URL = "amqp://guest:guest@127.0.0.1:5672/"

# Compose's operator login for the management UI; no application process uses it.
ADMIN = "admin"


def dev_password(user: str) -> str:
    return f"dev-{user}"


def role_url(base_url: str, namespace: str, role: str) -> str:
    """`base_url` (host, port, vhost) with the role user's development credentials."""
    parts = urlsplit(base_url)
    user = user_name(namespace, role)
    host = parts.hostname or "localhost"
    netloc = f"{quote(user, safe='')}:{quote(dev_password(user), safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme or "amqp", netloc, parts.path or "/", parts.query, ""))


def trusting(amqp_url: str) -> str:
    """STATUS_PUBLISHERS for a system run entirely as the user of `amqp_url` (guest, in
    tests and benchmarks): the gateway believes that user for every service."""
    user = user_in(amqp_url)
    return ",".join(f"{user}:{service}" for service in SERVICE_TASKS)


def env_name(role: str) -> str:
    return f"{role.upper()}_AMQP_URL"


def create(namespace: str, vhost: str) -> None:
    """Add (or reset) every role's user and permissions on the local broker, in one import."""
    # Read from standard input (no file named), so it works through `docker exec -i` too.
    document = json.dumps(definitions(namespace, vhost, admin=False))
    _rabbitmqctl(["import_definitions", "--format", "json"], stdin=document)


def delete(namespace: str) -> None:
    # In parallel: each rabbitmqctl call starts an Erlang VM, about a second.
    calls = [_start(["delete_user", user_name(namespace, role)]) for role in ROLES]
    for call in calls:
        call.communicate(timeout=60)


def password_hash(user: str, password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)).

    The salt comes from the user name, so that the committed file is the same
    each time it is generated; these are development passwords only.
    """
    salt = hashlib.sha256(f"offload-definitions:{user}".encode()).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(namespace: str = "offload", vhost: str = "/", *, admin: bool = True) -> dict[str, Any]:
    """A RabbitMQ definitions file: the vhost, every role's user and permissions, and
    (with `admin`) an administrator for the management UI."""
    roles = {user_name(namespace, role): perms for role, perms in role_permissions(Topology(namespace)).items()}
    users = [_user(user, []) for user in roles]
    permissions = [_permissions(user, vhost, perms) for user, perms in roles.items()]
    if admin:
        name = f"{namespace}-{ADMIN}"
        users.insert(0, _user(name, ["administrator"]))
        permissions.insert(0, {"user": name, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"})
    return {
        "rabbit_version": "3.10.8",
        "users": users,
        "vhosts": [{"name": vhost}],
        "permissions": permissions,
        "topic_permissions": [_topic_permissions(user, vhost, perms) for user, perms in roles.items()],
    }


def render_definitions(namespace: str = "offload") -> str:
    return json.dumps(definitions(namespace), indent=2) + "\n"


def _user(name: str, tags: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "password_hash": password_hash(name, dev_password(name)),
        "hashing_algorithm": "rabbit_password_hashing_sha256",
        "tags": tags,
        "limits": {},
    }


def _permissions(user: str, vhost: str, perms: Permissions) -> dict[str, str]:
    return {"user": user, "vhost": vhost, "configure": perms.configure, "write": perms.write, "read": perms.read}


def _topic_permissions(user: str, vhost: str, perms: Permissions) -> dict[str, str]:
    return {
        "user": user,
        "vhost": vhost,
        "exchange": perms.topic_exchange,
        "write": perms.topic_write,
        "read": perms.topic_read,
    }


def _command() -> list[str]:
    """rabbitmqctl, or what RABBITMQCTL names (devtools/broker-env.sh sets `docker exec -i … rabbitmqctl`
    when it runs the broker in a container)."""
    return shlex.split(os.environ.get("RABBITMQCTL", "rabbitmqctl"))


def _rabbitmqctl(arguments: list[str], stdin: str | None = None) -> None:
    try:
        result = subprocess.run(
            [*_command(), "-q", *arguments], input=stdin, capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        raise SystemExit("rabbitmqctl not found: create the users as docs/operations.md describes") from None
    if result.returncode != 0:
        raise SystemExit(f"rabbitmqctl {arguments[0]} failed: {(result.stderr or result.stdout).strip()}")


def _start(arguments: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_command(), "-q", *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.broker_users", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["create", "env", "delete", "definitions"])
    parser.add_argument("path", nargs="?", type=Path, default=DEFINITIONS, help="for `definitions`")
    parser.add_argument("--namespace", default=os.environ.get("OFFLOAD_NAMESPACE", "offload"))
    parser.add_argument("--vhost", default=None, help="default: AMQP_URL's vhost, else /")
    args = parser.parse_args(argv)
    base_url = os.environ.get("AMQP_URL") or LOCAL_URL
    vhost = args.vhost or (unquote(urlsplit(base_url).path[1:]) or "/")
    if args.command == "create":
        create(args.namespace, vhost)
    elif args.command == "delete":
        delete(args.namespace)
    elif args.command == "env":
        for role in ROLES:
            print(f"export {env_name(role)}={shlex.quote(role_url(base_url, args.namespace, role))}")
    else:
        args.path.parent.mkdir(parents=True, exist_ok=True)
        args.path.write_text(render_definitions(args.namespace))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The broker users compose loads are the ones contracts/permissions.py derives."""

import base64
import hashlib
import json

from devtools.broker_users import DEFINITIONS, definitions, password_hash, render_definitions, role_url, trusting


def test_the_committed_definitions_file_is_current():
    assert DEFINITIONS.read_text() == render_definitions(), (
        "permissions changed: run `python -m devtools.broker_users definitions` and commit rabbitmq/definitions.json"
    )


def test_every_role_user_has_a_dev_password_hashed_as_rabbitmq_does():
    document = json.loads(DEFINITIONS.read_text())
    names = {user["name"] for user in document["users"]}
    assert names == {
        f"offload-{role}" for role in ("admin", "gateway", "email", "file", "notify", "analytics", "publisher")
    }
    assert "guest" not in names
    for user in document["users"]:
        raw = base64.b64decode(user["password_hash"])
        salt, digest = raw[:4], raw[4:]
        assert digest == hashlib.sha256(salt + f"dev-{user['name']}".encode()).digest()
        assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert {p["user"] for p in document["topic_permissions"]} == names - {"offload-admin"}


def test_a_password_hash_is_salted_per_user():
    assert password_hash("a", "same") != password_hash("b", "same")


def test_without_admin_only_the_roles_are_defined():
    assert "offload-admin" not in {user["name"] for user in definitions(admin=False)["users"]}


def test_role_urls_keep_host_port_and_vhost():
    url = role_url("amqp://guest:guest@10.0.0.5:5673/prod", "shop", "email")
    assert url == "amqp://shop-email:dev-shop-email@10.0.0.5:5673/prod"


def test_trusting_names_the_url_user_for_every_service():
    assert trusting("amqp://guest:guest@h/") == "guest:email,guest:file,guest:notify,guest:analytics"

"""The compose file, the Dockerfile and `.env.example` agree with the code.

Runnable services are found on disk (a top-level package with `__main__.py`),
so a new service without an image target or a compose entry fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
# Runnable packages that are tools, not parts of a deployment.
NOT_SERVICES = {"devtools", "bench", "offload_cli"}


def runnable_packages() -> list[str]:
    return sorted(
        path.parent.name
        for path in ROOT.glob("*/__main__.py")
        if path.parent.name not in NOT_SERVICES and not path.parent.name.startswith(".")
    )


def compose_services() -> dict[str, dict]:
    # safe_load resolves the `<<: *broker-settings` merge keys.
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def built_services() -> dict[str, dict]:
    return {name: svc for name, svc in compose_services().items() if "build" in svc}


def dockerfile_stages() -> set[str]:
    text = (ROOT / "Dockerfile").read_text()
    return set(re.findall(r"^\s*FROM\s+\S+\s+AS\s+(\S+)\s*$", text, re.IGNORECASE | re.MULTILINE))


def env_example_names() -> set[str]:
    # A commented-out `# NAME=` line documents a variable that is unset by default.
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def test_there_are_runnable_services():
    assert runnable_packages(), "no top-level package with a __main__.py found"


@pytest.mark.parametrize("package", runnable_packages())
def test_each_runnable_package_has_an_image_target_and_a_compose_service(package):
    services = compose_services()
    assert package in services, f"docker-compose.yml has no service {package!r}"
    assert services[package].get("build", {}).get("target") == package
    assert package in dockerfile_stages(), f"Dockerfile has no stage `FROM ... AS {package}`"


def test_every_built_service_targets_a_dockerfile_stage():
    stages = dockerfile_stages()
    for name, svc in built_services().items():
        assert svc["build"].get("target") in stages, f"{name}: build.target is not a Dockerfile stage"


def test_every_service_has_a_healthcheck():
    missing = [name for name, svc in compose_services().items() if "healthcheck" not in svc]
    assert not missing, f"services without a healthcheck: {missing}"


def test_built_services_wait_for_a_healthy_broker():
    for name, svc in built_services().items():
        depends_on = svc.get("depends_on")
        assert isinstance(depends_on, dict), f"{name}: depends_on must use the long form"
        assert depends_on.get("rabbitmq", {}).get("condition") == "service_healthy", name
        for dependency, rule in depends_on.items():
            assert rule.get("condition") == "service_healthy", f"{name} -> {dependency}"


def test_built_services_have_the_broker_settings():
    for name, svc in built_services().items():
        assert "AMQP_URL" in svc.get("environment", {}), name


def test_service_specific_settings():
    services = compose_services()
    assert {"SMTP_HOST", "SMTP_PORT"} <= services["email_service"]["environment"].keys()
    assert "DATABASE_URL" in services["gateway"]["environment"]


def test_env_example_lists_every_variable_compose_sets():
    documented = env_example_names()
    used = {var for svc in built_services().values() for var in svc.get("environment", {})}
    assert used, "built services set no environment"
    assert not used - documented, f"missing from .env.example: {sorted(used - documented)}"


def test_docker_compose_accepts_the_file():
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose is not installed; install Debian's package to validate the compose"
            " file: apt-get install -y docker-compose"
        )
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

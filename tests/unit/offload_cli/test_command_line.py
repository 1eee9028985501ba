"""The `offload` command's shape: every subcommand answers --help, and wrong arguments are usage errors (2)."""

from __future__ import annotations

import os
import re

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from contracts.topology import SERVICE_TASKS
from offload_cli import command, gateway, services
from offload_cli.app import app
from runtime.settings import MAX_WORKERS

runner = CliRunner()


def command_paths(group: typer.Typer) -> list[list[str]]:
    """Every command and group under `group`, as the words that name it."""
    found: list[list[str]] = []

    def walk(node, path: list[str]) -> None:
        found.append(path)
        for name, child in getattr(node, "commands", {}).items():
            walk(child, [*path, name])

    walk(get_command(group), [])
    return found


PATHS = command_paths(app)


def plain(output: str) -> str:
    """Output without rich's boxes and line breaks, for matching words."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def test_the_command_has_every_group_the_issue_asks_for():
    names = {" ".join(path) for path in PATHS}
    expected = {"gateway", "migrate", "teardown", "dlq list", "dlq replay", "jobs list", "jobs show", "jobs watch"}
    assert expected | {f"service {name}" for name in SERVICE_TASKS} <= names
    assert {"broker-users create", "broker-users delete", "broker-users env", "broker-users definitions"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "offload")
def test_every_subcommand_answers_help(path):
    result = runner.invoke(app, [*path, "--help"], prog_name="offload")

    assert result.exit_code == 0, result.output
    assert "Usage: offload" in plain(result.output)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "offload")
def test_an_unknown_option_is_a_usage_error(path):
    result = runner.invoke(app, [*path, "--no-such-option"])

    assert result.exit_code == 2, result.output
    assert "No such option: --no-such-option" in plain(result.output)


def test_an_unknown_command_is_a_usage_error():
    result = runner.invoke(app, ["launch"])

    assert result.exit_code == 2
    assert "No such command 'launch'" in plain(result.output)


def test_a_replay_must_say_which_dead_letters():
    for choice in ([], ["--all", "--fingerprint", "3f2a9c1b7e04"]):
        result = runner.invoke(app, ["dlq", "replay", "email", *choice])

        assert result.exit_code == 2
        assert "one of the arguments --fingerprint --message-id --all is required" in plain(result.output)


def test_a_replay_names_only_known_services():
    result = runner.invoke(app, ["dlq", "replay", "fax", "--all"])

    assert result.exit_code == 2
    assert "fax" in plain(result.output)


def test_every_service_of_the_topology_has_a_command():
    assert services.SERVICES.keys() == SERVICE_TASKS.keys()


def test_python_m_gateway_answers_help_and_refuses_unknown_arguments():
    standalone = gateway.standalone()

    helped = runner.invoke(standalone, ["--help"], prog_name="python -m gateway")
    assert helped.exit_code == 0
    assert "Usage: python -m gateway" in plain(helped.output) and "migrate" in helped.output
    assert runner.invoke(standalone, ["--port", "9000"]).exit_code == 2
    assert runner.invoke(standalone, ["serve"]).exit_code == 2


def test_python_m_a_service_answers_help_and_refuses_unknown_arguments():
    ran: list[str] = []
    standalone = services.standalone("email", lambda: ran.append("email"))

    assert runner.invoke(standalone, ["--help"]).exit_code == 0
    assert runner.invoke(standalone, ["--verbose"]).exit_code == 2
    assert ran == []
    assert runner.invoke(standalone, []).exit_code == 0
    assert ran == ["email"]


def test_a_service_takes_a_worker_count_within_the_settings_bound(monkeypatch):
    # The option becomes the WORKERS setting, which the service's main() reads.
    monkeypatch.setenv("WORKERS", "1")
    seen: list[str] = []
    standalone = services.standalone("email", lambda: seen.append(os.environ["WORKERS"]))

    for count in ("0", str(MAX_WORKERS + 1)):
        refused = runner.invoke(standalone, ["--workers", count])
        assert refused.exit_code == 2, refused.output
        assert "Invalid value for '--workers'" in plain(refused.output)
    assert seen == []
    assert runner.invoke(standalone, []).exit_code == 0
    assert runner.invoke(standalone, ["--workers", "3"]).exit_code == 0
    assert seen == ["1", "3"]


def test_a_missing_dependency_names_the_extra_to_install(capsys):
    with pytest.raises(typer.Exit) as exit_, command.requires("gateway"):
        import fastapi_is_not_installed  # noqa: F401

    assert exit_.value.exit_code == 1
    assert "pip install 'offload[gateway]'" in capsys.readouterr().err


def test_a_missing_module_of_offload_itself_is_a_bug_not_an_extra():
    with pytest.raises(ModuleNotFoundError), command.requires("gateway"):
        import gateway.no_such_module  # noqa: F401

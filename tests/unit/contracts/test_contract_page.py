"""docs/contract.md quotes the topology's arguments as contracts/topology.py declares them."""

import json
from pathlib import Path

import pytest

from contracts import bounds
from contracts.topology import SERVICE_TASKS, Topology

PAGE = (Path(__file__).resolve().parents[3] / "docs" / "contract.md").read_text()
TOPOLOGY = Topology()
OWNERS = [*(TOPOLOGY.service(service) for service in SERVICE_TASKS), TOPOLOGY.gateway()]


@pytest.mark.parametrize("owner", OWNERS, ids=lambda owner: owner.service)
def test_the_page_quotes_each_work_queue_with_its_arguments(owner):
    assert f"`{owner.work.name}`" in PAGE
    assert f"`{json.dumps(dict(owner.work.arguments))}`" in PAGE, f"docs/contract.md: update {owner.work.name}"


def test_the_page_quotes_the_dead_letter_queue_arguments_and_exchanges():
    assert f"`{json.dumps(dict(OWNERS[0].dead.arguments))}`" in PAGE
    for exchange in TOPOLOGY.exchanges():
        assert f"`{exchange.name}`" in PAGE and exchange.type in PAGE


def test_the_page_states_the_size_limits_of_the_contract():
    assert f"{bounds.MAX_MESSAGE_BYTES:,}" in PAGE
    assert f"{bounds.MAX_EMAIL_BODY_CHARS:,}" in PAGE
    assert f"{bounds.MAX_JSON_DEPTH} levels" in PAGE

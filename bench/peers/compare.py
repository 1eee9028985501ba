"""Offload next to each peer: which of Offload's rates a peer is set against, the ratio, the goal.

A peer running two worker processes (Taskiq, Celery) is set against
Offload's end-to-end drain (d), two service processes with the gateway
folding status; a one-process peer (FastStream, raw aio-pika) against the
runtime's one-process drain at the same prefetch (b). The goals are issue
#13's: at least Taskiq's rate, twice Celery's, 0.6 of a raw consumer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GOALS = {"taskiq": 1.0, "celery": 2.0, "aio_pika": 0.6}
# The prefetch of every peer, and so the (b) run the one-process peers are set against.
PREFETCH = 16


@dataclass(frozen=True)
class Comparison:
    peer: str
    title: str
    peer_rate: float | None
    # Which of Offload's measurements ("b" or "d") the peer is set against, and what it is.
    source: str
    offload: str
    offload_rate: float | None
    goal: float | None

    @property
    def ratio(self) -> float | None:
        if self.peer_rate is None or self.offload_rate is None:
            return None
        return self.offload_rate / self.peer_rate

    @property
    def met(self) -> bool | None:
        """Whether the goal is met; None when there is no goal or no ratio."""
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio >= self.goal


def _rate(result: dict[str, Any] | None) -> float | None:
    return None if result is None else result.get("msg_per_s")


def offload_rates(results: dict[str, Any]) -> dict[int, tuple[str, str, float | None]]:
    """Offload's rate for peers of one and of two processes from this run's results (None: not measured)."""
    one = results.get("b", {}).get(str(PREFETCH), {}).get("offload")
    return {
        1: ("b", f"runtime, 1 process, prefetch {PREFETCH}", _rate(one)),
        2: ("d", "end to end, 2 processes", _rate(results.get("d"))),
    }


def compare(results: dict[str, Any]) -> list[Comparison]:
    """One comparison per peer that was measured (or failed), in the order they ran."""
    peers = results.get("peers", {}).get("peers", {})
    rates = offload_rates(results)
    comparisons = []
    for name, peer in peers.items():
        source, offload, offload_rate = rates[peer["processes"]]
        comparisons.append(
            Comparison(
                peer=name,
                title=peer["title"],
                peer_rate=_rate(peer),
                source=source,
                offload=offload,
                offload_rate=offload_rate,
                goal=GOALS.get(name),
            )
        )
    return comparisons

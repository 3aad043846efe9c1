"""The aggregator's lag gauge: highwater minus the last counted offset, over the partitions it still owns.

faust's consumer is replaced by a small stand-in with the two calls the gauge reads (assignment, highwater):
the arithmetic is ours, the broker's side is covered by tests/integration/test_monitoring.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from prometheus_client import REGISTRY

from services.aggregate.agents import update_lag


def lag() -> float | None:
    return REGISTRY.get_sample_value("pulse_aggregate_consumer_lag")


@dataclass
class Consumer:
    highwaters: dict[str, int]
    assigned: set[str] = field(default_factory=set)

    def assignment(self) -> set[str]:
        return self.assigned

    def highwater(self, tp: str) -> int:
        return self.highwaters[tp]


def _event(tp: str, offset: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(tp=tp, offset=offset))


def test_lag_counts_every_owned_partition_and_keeps_rising_without_batches() -> None:
    consumer = Consumer({"p0": 10, "p1": 5}, {"p0", "p1"})
    app: Any = SimpleNamespace(consumer=consumer)
    positions: dict[Any, int] = {}
    update_lag(app, [_event("p0", 3), _event("p0", 4), _event("p1", 4)], positions)
    assert lag() == (10 - 4 - 1) + (5 - 4 - 1)
    consumer.highwaters["p0"] = 30  # new messages, no batch counted: the timer's call still sees them
    update_lag(app, (), positions)
    assert lag() == 30 - 4 - 1
    consumer.assigned = {"p1"}  # p0 revoked in a rebalance: no longer this worker's lag
    update_lag(app, (), positions)
    assert lag() == 0 and set(positions) == {"p1"}

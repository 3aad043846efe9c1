from __future__ import annotations

import pytest

from services.infer.batcher import Batcher
from tests.fakes import FakeClock


def test_flushes_at_max_size() -> None:
    b: Batcher[int] = Batcher(3, 10.0, FakeClock(100.0))
    for i in range(2):
        b.add(i)
    assert not b.ready()
    b.add(2)
    assert b.ready() and b.room() == 0
    assert b.drain() == [0, 1, 2] and len(b) == 0


def test_deadline_starts_at_the_first_item() -> None:
    clock = FakeClock(100.0)
    b: Batcher[str] = Batcher(100, 0.05, clock)
    assert b.time_left() is None and not b.ready()
    clock.now += 5  # idle time before the first item does not count
    b.add("a")
    assert b.time_left() == pytest.approx(0.05)
    clock.now += 0.03
    b.add("b")
    assert not b.ready() and b.time_left() == pytest.approx(0.02)
    clock.now += 0.02
    assert b.ready()
    assert b.drain() == ["a", "b"]
    assert b.time_left() is None


def test_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        Batcher(0, 1.0)

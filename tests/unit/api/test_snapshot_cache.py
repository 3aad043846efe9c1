"""The websocket's snapshot cache: a burst of subscribers shares one read; the subscriber cap is atomic."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.api.broadcast import Broadcaster, SnapshotCache


async def test_concurrent_callers_share_one_computation_and_a_fresh_value_is_reused() -> None:
    calls: list[str] = []
    t = [0.0]

    async def compute(window: str) -> dict[str, Any]:
        calls.append(window)
        n = len(calls)
        await asyncio.sleep(0.01)
        return {"window": window, "n": n}

    cache = SnapshotCache(compute, max_age_s=1.0, clock=lambda: t[0])
    got = await asyncio.gather(*(cache.get("15m") for _ in range(300)), cache.get("1h"))
    assert calls == ["15m", "1h"] and all(g == {"window": "15m", "n": 1} for g in got[:300])
    assert await cache.get("15m") == {"window": "15m", "n": 1}  # still fresh
    t[0] = 1.5
    assert (await cache.get("15m"))["n"] == 3


async def test_nothing_read_before_an_update_is_served_after_it() -> None:
    version = [0]
    gate = asyncio.Event()

    async def compute(window: str) -> dict[str, Any]:
        seen = version[0]
        await gate.wait()
        return {"version": seen}

    cache = SnapshotCache(compute, max_age_s=60.0)
    before = asyncio.create_task(cache.get("15m"))  # a read in flight when the update lands
    await asyncio.sleep(0)
    version[0] = 1
    cache.invalidate()
    after = asyncio.create_task(cache.get("15m"))
    await asyncio.sleep(0)
    gate.set()
    assert (await before, await after) == ({"version": 0}, {"version": 1})
    assert await cache.get("15m") == {"version": 1}


async def test_a_failed_computation_fails_every_waiter_and_is_not_cached() -> None:
    attempts = [0]

    async def compute(window: str) -> dict[str, Any]:
        attempts[0] += 1
        await asyncio.sleep(0.01)
        if attempts[0] == 1:
            raise ConnectionError("redis down")
        return {"ok": True}

    cache = SnapshotCache(compute, max_age_s=10.0)
    results = await asyncio.gather(*(cache.get("1m") for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await cache.get("1m") == {"ok": True}


@pytest.mark.parametrize("cap", [0, 1, 20])
def test_admission_never_exceeds_the_cap(cap: int) -> None:
    b = Broadcaster(None, "c", lambda w: None, throttle_s=0.5, heartbeat_s=10, max_clients=cap)  # type: ignore[arg-type]
    admitted = sum(b.admit() for _ in range(2 * cap + 5))
    assert admitted == cap
    if cap:
        b.release()
        assert b.admit() and not b.admit()

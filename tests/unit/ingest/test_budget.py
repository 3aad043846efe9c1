from __future__ import annotations

import asyncio

import pytest

from services.ingest.budget import ByteBudget


async def test_takers_wait_for_room_and_a_timeout_bounds_the_wait() -> None:
    budget = ByteBudget(100)
    await budget.take(80)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await budget.take(30)
    assert budget.used == 80
    waiter = asyncio.create_task(budget.take(30))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    await budget.give(50)
    await asyncio.wait_for(waiter, 1)
    assert budget.used == 60


async def test_more_than_the_capacity_is_an_error_not_a_hang() -> None:
    with pytest.raises(ValueError, match="never fit"):
        await ByteBudget(10).take(11)

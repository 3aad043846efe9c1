"""A byte budget shared by concurrent requests: bodies are held in memory only within it."""

from __future__ import annotations

import asyncio


class ByteBudget:
    """`take(n)` waits until n more bytes fit under the capacity; `give(n)` returns them. Callers bound the wait
    with a timeout: requests that together hold the whole budget and want more time out and give theirs back."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity, self.used = capacity, 0
        self._changed = asyncio.Condition()

    async def take(self, n: int) -> None:
        if n > self.capacity:
            raise ValueError(f"{n} bytes can never fit a budget of {self.capacity}")
        async with self._changed:
            await self._changed.wait_for(lambda: self.used + n <= self.capacity)
            self.used += n

    async def give(self, n: int) -> None:
        if n:
            async with self._changed:
                self.used -= n
                self._changed.notify_all()

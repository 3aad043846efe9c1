"""Micro-batching: a batch is ready at max_size items or max_wait seconds after its first item. Pure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, max_size: int, max_wait: float, clock: Callable[[], float] = time.monotonic) -> None:
        if max_size < 1 or max_wait < 0:
            raise ValueError("max_size must be >= 1 and max_wait >= 0")
        self.max_size, self.max_wait, self.clock = max_size, max_wait, clock
        self._items: list[T] = []
        self._deadline: float | None = None

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: T) -> None:
        if not self._items:
            self._deadline = self.clock() + self.max_wait  # the wait starts at the batch's first item
        self._items.append(item)

    def room(self) -> int:
        return max(0, self.max_size - len(self._items))

    def time_left(self) -> float | None:
        """Seconds until the batch is due; None when empty (nothing to wait for)."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - self.clock())

    def ready(self) -> bool:
        return bool(self._items) and (len(self._items) >= self.max_size or self.time_left() == 0.0)

    def drain(self) -> list[T]:
        items, self._items, self._deadline = self._items, [], None
        return items

"""The checkpoint gate: the cursor may only move past events that are settled.

Events are admitted in the order they are read. An event is settled when there is nothing to send for it (a
delete, an unrouted post) or when the broker acknowledged what was sent. The checkpoint is the highest position
among the longest run of settled events from the start, so after a crash the source is resumed from a point
before which everything is on the broker: never past an unacknowledged record. A failed delivery is never
settled: the gate stays behind it for good, and the runner stops.

kafka-python settles from its I/O thread, hence the lock.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass
class _Slot:
    position: int | None
    settled: bool = False


class CursorGate:
    def __init__(self, start: int | None = None) -> None:
        self._lock = threading.Lock()
        self._slots: deque[_Slot] = deque()
        self._checkpoint = start
        self._failed: str | None = None

    def admit(self, position: int | None) -> _Slot:
        """Registers an event read from the source; settle() the returned slot once it is safe on the broker."""
        slot = _Slot(position)
        with self._lock:
            self._slots.append(slot)
        return slot

    def settle(self, slot: _Slot) -> None:
        with self._lock:
            slot.settled = True

    def fail(self, slot: _Slot, reason: str) -> None:
        with self._lock:
            if self._failed is None:
                self._failed = reason

    @property
    def failed(self) -> str | None:
        """The first delivery failure, if any."""
        with self._lock:
            return self._failed

    @property
    def pending(self) -> int:
        """Events read but not yet settled (or settled behind one that is not)."""
        with self._lock:
            self._advance()
            return len(self._slots)

    def checkpoint(self) -> int | None:
        """The position to save: everything read up to it is settled."""
        with self._lock:
            self._advance()
            return self._checkpoint

    def _advance(self) -> None:
        while self._slots and self._slots[0].settled:
            position = self._slots.popleft().position
            if position is not None and (self._checkpoint is None or position > self._checkpoint):
                self._checkpoint = position

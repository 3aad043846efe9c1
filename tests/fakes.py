"""Stand-ins shared by the unit tests."""

from __future__ import annotations


class FakeClock:
    """A clock that moves only when told: `clock()` reads it, `clock.now += s` or `advance(s)` moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

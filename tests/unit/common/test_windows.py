from __future__ import annotations

import random

import pytest

from services.common.windows import (
    HOUR,
    MINUTE,
    WindowError,
    net_stance,
    parse_duration,
    parse_window,
    plan_buckets,
    plan_history,
)


def minutes_covered(plan: list[tuple[str, int]]) -> list[int]:
    out: list[int] = []
    for gran, start in plan:
        out += [start] if gran == "m" else list(range(start, start + HOUR, MINUTE))
    return out


@pytest.mark.parametrize("window", [60, 300, 900, 3600, 86400, 7200 + 60])
def test_plan_covers_exactly_the_window_minutes(window: int) -> None:
    rng = random.Random(window)
    for _ in range(200):
        now = 1_700_000_000 + rng.uniform(0, 10 * 86400)
        plan = plan_buckets(now, window)
        last = int(now // 60) * 60
        assert minutes_covered(plan) == list(range(last - window + MINUTE, last + MINUTE, MINUTE))


def test_plan_uses_hour_buckets_for_whole_hours() -> None:
    now = 1_700_000_000 + 37 * 60 + 5  # 37 minutes past some hour (the epoch offset is a whole hour + 53m20s)
    plan = plan_buckets(now, 86400)
    assert sum(1 for g, _ in plan if g == "h") >= 22
    assert len(plan) < 200  # versus 1,440 minute buckets


def test_parse_window_and_duration() -> None:
    assert parse_window("15m") == 900 and parse_window("all") is None
    with pytest.raises(WindowError, match="one of"):
        parse_window("7m")
    assert parse_duration("2h") == 7200 and parse_duration("1d") == 86400
    for bad in ("0m", "5s", "abc", "99d"):
        with pytest.raises(WindowError):
            parse_duration(bad)


def test_history_points_end_at_the_current_minute_or_hour() -> None:
    now = 3600 * 1000 + 125.0
    plan = plan_history(now, 600, 300)
    assert (plan.gran, plan.starts) == ("m", [3600 * 1000 + 120 + 60 - 600, 3600 * 1000 + 120 + 60 - 300])
    assert plan.buckets(plan.starts[0]) == [plan.starts[0] + 60 * i for i in range(5)]
    hourly = plan_history(now, 2 * 86400, 3600)
    assert hourly.gran == "h" and len(hourly.starts) == 48 and hourly.starts[-1] == 3600 * 1000
    for window, step in ((600, 90), (600, 420), (2 * 86400, 60), (2 * 86400 * 10, 60)):
        with pytest.raises(WindowError):
            plan_history(now, window, step)


def test_net_stance() -> None:
    assert net_stance(3, 1) == 0.5
    assert net_stance(0, 4) == -1.0
    assert net_stance(0, 0) is None

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
    plan_range,
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


def test_an_absolute_range_starts_at_the_bucket_holding_start_and_ends_with_the_one_holding_end() -> None:
    now = 3600 * 1000 + 125.0
    plan = plan_range(now - 3 * 3600 + 30, now - 3600 + 30, 900, now)  # 997h 2:35 – 999h 2:35 in quarter hours
    assert plan.gran == "m" and plan.starts[0] == 3600 * 997 and len(plan.starts) == 9
    assert plan.starts[-1] <= now - 3600 + 30 < plan.starts[-1] + 900
    live = plan_range(now - 600, now + 3600, 300, now)  # an end past now is now
    assert live.starts[-1] <= now < live.starts[-1] + 300
    days = plan_range(now - 3 * 86400, now, 3600, now)
    assert days.gran == "h" and len(days.starts) == 73
    for start, end, step, why in ((now - 60, now - 120, 60, "before end"), (now - 31 * 86400, now, 3600, "30 days"),
                                  (now - 2 * 86400, now, 900, "whole hours"),
                                  (now - 600, now, 90, "whole number of minutes")):
        with pytest.raises(WindowError, match=why):
            plan_range(start, end, step, now)
    with pytest.raises(WindowError, match="11 points; at most 10"):
        plan_range(now - 600, now, 60, now, max_points=10)


def test_net_stance() -> None:
    assert net_stance(3, 1) == 0.5
    assert net_stance(0, 4) == -1.0
    assert net_stance(0, 0) is None

"""Rolling windows over minute and hour buckets, and the net stance. Pure functions, no I/O.

Counts are kept per minute (for windows up to 24 h) and per hour (for long windows and history). A rolling
window of N minutes ending now covers the N minute buckets up to and including the current one; whole hours
inside it are read from hour buckets, so a 24 h window reads about 140 buckets instead of 1,440.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, get_args

MINUTE, HOUR = 60, 3600
WindowName = Literal["1m", "5m", "15m", "1h", "24h", "all"]
WINDOWS: dict[str, int | None] = dict(zip(get_args(WindowName), (60, 300, 900, 3600, 86400, None), strict=True))
_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNIT = {"m": MINUTE, "h": HOUR, "d": 86400}


class WindowError(ValueError):
    pass


def parse_window(name: str) -> int | None:
    """Window name → seconds (None for all-time). Only the published windows are accepted."""
    if name not in WINDOWS:
        raise WindowError(f"window must be one of {', '.join(WINDOWS)}; got {name!r}")
    return WINDOWS[name]


def parse_duration(text: str, minimum: int = MINUTE, maximum: int = 30 * 86400) -> int:
    """'5m', '1h', '2d' → seconds; a whole number of minutes between minimum and maximum."""
    m = _DURATION.match(text.strip())
    if not m:
        raise WindowError(f"duration {text!r} must look like 5m, 1h or 2d")
    seconds = int(m.group(1)) * _UNIT[m.group(2)]
    if not minimum <= seconds <= maximum:
        raise WindowError(f"duration {text!r} must be between {minimum // 60}m and {maximum // 86400}d")
    return seconds


def minute_of(ts: float) -> int:
    return int(ts // MINUTE) * MINUTE


def hour_of(ts: float) -> int:
    return int(ts // HOUR) * HOUR


def plan_buckets(now: float, window_s: int) -> list[tuple[str, int]]:
    """Buckets ("m"|"h", start) whose union is exactly the minutes [now_min - window + 60, now_min]."""
    if window_s < MINUTE or window_s % MINUTE:
        raise WindowError("window must be a positive whole number of minutes")
    last = minute_of(now)
    first = last - window_s + MINUTE
    plan: list[tuple[str, int]] = []
    t = first
    while t <= last:
        if t % HOUR == 0 and t + HOUR - MINUTE <= last:
            plan.append(("h", t))
            t += HOUR
        else:
            plan.append(("m", t))
            t += MINUTE
    return plan


MAX_POINTS = 1_440  # a day of minutes: enough for a chart, bounded for Redis


@dataclass(frozen=True)
class HistoryPlan:
    """The points of a history series and the buckets each one sums."""

    gran: str  # "m" (minute buckets) or "h" (hour buckets)
    unit: int  # seconds per bucket
    starts: list[int]  # start of each point, oldest first
    step_s: int

    def buckets(self, start: int) -> list[int]:
        """The bucket starts one point sums."""
        return [start + i * self.unit for i in range(self.step_s // self.unit)]


def _granularity(step_s: int) -> tuple[str, int]:
    """("h", 3600) for whole-hour steps, else ("m", 60); raises for a step that is not whole minutes."""
    if step_s < MINUTE or step_s % MINUTE:
        raise WindowError("step must be a whole number of minutes")
    return ("h", HOUR) if step_s % HOUR == 0 else ("m", MINUTE)


def plan_history(now: float, window_s: int, step_s: int, max_points: int = MAX_POINTS) -> HistoryPlan:
    """The series of `window_s` ending now, in points of `step_s`: minute buckets up to a day back (they are kept
    26 hours), hour buckets for whole-hour steps. Raises WindowError for a series that cannot be drawn."""
    gran, unit = _granularity(step_s)
    if step_s % HOUR and window_s > 24 * HOUR:
        raise WindowError("windows over 24h need a step in whole hours (minute buckets keep 26 hours)")
    if window_s % step_s:
        raise WindowError("window must be a whole number of steps")
    if window_s // step_s > max_points:
        raise WindowError(f"window/step gives {window_s // step_s} points; at most {max_points}")
    end = (hour_of(now) if gran == "h" else minute_of(now)) + unit
    return HistoryPlan(gran, unit, list(range(end - window_s, end, step_s)), step_s)


RANGE_REACH_S = 30 * 86400  # how far back an absolute range may start: hour buckets are kept 35 days


def plan_range(start: float, end: float, step_s: int, now: float, max_points: int = MAX_POINTS) -> HistoryPlan:
    """The series from `start` to `end` (unix seconds; an end after now is now) in points of `step_s`, aligned to
    whole steps (quarter hours at :00, :15…): the first point holds `start`, the last holds `end`. Raises
    WindowError for a range that cannot be drawn from the buckets kept."""
    gran, unit = _granularity(step_s)
    end = min(end, now)
    if start >= end:
        raise WindowError("start must be before end (and before now)")
    if now - start > RANGE_REACH_S:
        raise WindowError(f"start must be within the last {RANGE_REACH_S // 86400} days")
    if gran == "m" and now - start > 24 * HOUR:
        raise WindowError("a range starting over 24h ago needs a step in whole hours (minute buckets keep 26 hours)")
    first = int(start // step_s) * step_s
    points = math.ceil((int(end // unit) * unit + unit - first) / step_s)
    if points > max_points:
        raise WindowError(f"start–end/step gives {points} points; at most {max_points}")
    return HistoryPlan(gran, unit, [first + i * step_s for i in range(points)], step_s)


def net_stance(favor: int, against: int) -> float | None:
    """(FAVOR − AGAINST) / (FAVOR + AGAINST) in [-1, 1]; None when there is no stance to weigh."""
    total = favor + against
    return round((favor - against) / total, 4) if total else None

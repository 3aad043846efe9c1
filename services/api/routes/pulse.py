from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from services.api.deps import Now, Reader
from services.common.windows import HOUR, WINDOWS, WindowError, parse_duration

router = APIRouter(prefix="/v1/pulse", tags=["pulse"])
WindowName = Literal["1m", "5m", "15m", "1h", "24h", "all"]


@router.get("")
async def pulse(reader: Reader, now: Now,
                window: Annotated[WindowName, Query(description="rolling window")] = "15m") -> dict[str, Any]:
    """FAVOR / AGAINST / NONE counts, total and net stance per party and per target over a rolling window."""
    return await reader.snapshot(window, WINDOWS[window], now)


@router.get("/history")
async def history(
    reader: Reader, now: Now,
    party: Annotated[str | None, Query(description="a party, e.g. Democrats")] = None,
    target: Annotated[str | None, Query(description="a target, e.g. Joe Biden")] = None,
    window: Annotated[str, Query(description="how far back: 1h, 24h, 7d…")] = "1h",
    step: Annotated[str, Query(description="point spacing: 1m, 5m, 1h…")] = "1m",
) -> dict[str, Any]:
    """A time series of counts and net stance for one party or one target."""
    if (party is None) == (target is None):
        raise HTTPException(422, "give exactly one of party or target")
    try:
        window_s, step_s = parse_duration(window), parse_duration(step)
        if step_s % HOUR and window_s > 24 * HOUR:
            raise WindowError("windows over 24h need a step in whole hours (minute buckets keep 26 hours)")
        if window_s % step_s:
            raise WindowError("window must be a whole number of steps")
        if window_s // step_s > 1440:
            raise WindowError(f"window/step gives {window_s // step_s} points; at most 1440")
    except WindowError as exc:
        raise HTTPException(422, str(exc)) from exc
    kind, name = ("party", party) if party is not None else ("target", target)
    assert name is not None
    known = await reader.targets()
    if (kind == "party" and name not in set(known.values())) or (kind == "target" and name not in known):
        choices = sorted(set(known.values())) if kind == "party" else sorted(known)
        raise HTTPException(404, f"unknown {kind} {name!r}; known: {', '.join(choices)}")
    points = await reader.history(kind, name, window_s, step_s, now)
    return {kind: name, "window": window, "step": step, "points": points}

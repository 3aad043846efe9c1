from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from services.api.deps import Now, Reader
from services.api.schemas import History, Snapshot
from services.common.windows import WINDOWS, WindowError, WindowName, parse_duration, plan_history

router = APIRouter(prefix="/v1/pulse", tags=["pulse"])


@router.get("", response_model=Snapshot)
async def pulse(reader: Reader, now: Now,
                window: Annotated[WindowName, Query(description="rolling window")] = "15m") -> dict[str, Any]:
    """FAVOR / AGAINST / NONE counts, total and net stance per party and per target over a rolling window."""
    return await reader.snapshot(window, WINDOWS[window], now)


@router.get("/history", response_model=History, response_model_exclude_unset=True)
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
        plan = plan_history(now, parse_duration(window), parse_duration(step))
    except WindowError as exc:
        raise HTTPException(422, str(exc)) from exc
    kind, name = ("party", party) if party is not None else ("target", target)
    assert name is not None
    known = await reader.targets()
    if (kind == "party" and name not in set(known.values())) or (kind == "target" and name not in known):
        choices = sorted(set(known.values())) if kind == "party" else sorted(known)
        raise HTTPException(404, f"unknown {kind} {name!r}; known: {', '.join(choices)}")
    points = await reader.history(kind, name, plan)
    return {kind: name, "window": window, "step": step, "points": points}

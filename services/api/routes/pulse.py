from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import TypeAdapter

from services.api.caching import json_with_etag
from services.api.deps import Now, Reader
from services.api.errors import error_responses
from services.api.exports import SERIES_COLUMNS, attachment, iso, series_csv
from services.api.schemas import (
    History,
    Snapshot,
    StreamError,
    StreamSnapshot,
    StreamSpikes,
)
from services.common.windows import WINDOWS, WindowError, WindowName, parse_duration, plan_history, plan_range

router = APIRouter(prefix="/v1/pulse", tags=["pulse"])
STREAM_MESSAGE = TypeAdapter(StreamSnapshot | StreamSpikes | StreamError)
DURATION = r"^[1-9][0-9]{0,4}[mhd]$"


@router.get("", response_model=Snapshot, responses=error_responses(422, 503))
async def pulse(reader: Reader, now: Now, request: Request,
                window: Annotated[WindowName, Query(description="rolling window")] = "15m") -> Response:
    """FAVOR / AGAINST / NONE counts, total and net stance per party and per target over a rolling window, and
    the shares corrected for the model's error rates. ETag over the figures (not the read time): If-None-Match
    gets 304 while nothing changed."""
    snap = (await reader.snapshot(window, WINDOWS[window], now)).model_dump(mode="json")
    return json_with_etag(request, snap, max_age=1, volatile=("at",))


@router.get("/history/{kind}/{name}", response_model=History, response_model_exclude_unset=True,
            responses={**error_responses(404, 422, 503),
                       200: {"content": {"text/csv": {"example": ",".join(SERIES_COLUMNS)
                                                      + "\n2025-12-04T17:40:00Z,3,1,2,6,0.5,0,6\n"}},
                             "description": "the series as JSON, or as CSV with format=csv"}})
async def history(
    reader: Reader, now: Now, request: Request,
    kind: Annotated[Literal["party", "target"], Path(description="a party's series or a target's")],
    name: Annotated[str, Path(description="the party or target, e.g. Democrats or Joe Biden")],
    window: Annotated[str | None, Query(
        description="how far back from `end` (default now): 1h, 24h, 7d… (default 1h; not with `start`)",
        pattern=DURATION)] = None,
    step: Annotated[str, Query(description="point spacing: 1m, 5m, 1h… (whole minutes; whole hours past 24h; "
                                           "the window a whole number of steps, at most 1,440 points)",
                               pattern=DURATION)] = "1m",
    start: Annotated[datetime | None, Query(description=(
        "an absolute range's first moment, ISO 8601 (UTC when no offset is given) or unix seconds; within the "
        "last 30 days, the last 24 hours for steps under an hour; points align to whole steps"),
        examples=["2026-12-07T08:00:00Z"])] = None,
    end: Annotated[datetime | None, Query(description=(
        "the series' last moment, as `start`; default and at most now"), examples=["2026-12-07T10:00:00Z"])] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json, or csv to export the series")] = "json",
) -> Response:
    """A time series of counts and net stance for one party or one target: the last `window` (to now or to `end`),
    or the absolute range `start`–`end`."""
    try:
        if start is not None and window is not None:
            raise WindowError("give window or start, not both")
        step_s, until = parse_duration(step), now if end is None else _epoch(end)
        if start is not None:
            plan = plan_range(_epoch(start), until, step_s, now)
        elif end is not None:
            plan = plan_range(until - parse_duration(window or "1h"), until, step_s, now)
        else:
            plan = plan_history(now, parse_duration(window or "1h"), step_s)
    except WindowError as exc:
        raise HTTPException(422, str(exc)) from exc
    known = await reader.targets()
    if (kind == "party" and name not in set(known.values())) or (kind == "target" and name not in known):
        choices = sorted(set(known.values())) if kind == "party" else sorted(known)
        raise HTTPException(404, f"unknown {kind}; known: {', '.join(choices)}")
    points = await reader.history(kind, name, plan)
    if format == "csv":
        span = f"{window or '1h'}" if start is None else iso(plan.starts[0])
        return attachment(series_csv(points), f"pulse-{kind}-{name}-{span}-{step}.csv")
    span_m = (plan.starts[-1] + plan.step_s - plan.starts[0]) // 60
    body = History.model_validate({kind: name, "window": window or ("1h" if start is None else f"{span_m}m"),
                                   "step": step, "points": points})
    return json_with_etag(request, body.model_dump(mode="json", exclude_unset=True),
                          max_age=0)  # the current point moves with every post: revalidate (304 when unchanged)


def _epoch(moment: datetime) -> float:
    """Unix seconds of a query's moment; one without an offset is UTC (not the server's local time)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@router.get("/stream/schema", response_model=dict[str, Any])
async def stream_schema() -> dict[str, Any]:
    """The JSON Schema of every message `/v1/pulse/stream?window=W` sends (a websocket: OpenAPI cannot describe
    it). The server sends, never expects: `snapshot` on connect, on updates (at most every
    PULSE_API_STREAM_THROTTLE_S) and at least every PULSE_API_STREAM_HEARTBEAT_S; `spikes` after the first snapshot
    and whenever the list changes (read at most every PULSE_API_SPIKE_CHECK_S); `error` before closing with
    1008 (unknown window) or 1013 (too many subscribers: retry later)."""
    return STREAM_MESSAGE.json_schema()

"""X (Twitter) API v2 filtered stream: the posts that match the project's rules, as newline-delimited JSON.

Protocol (docs.x.com, "Filtered stream"): `GET /2/tweets/search/stream` with an app-only bearer token; one JSON
object per line, a blank line every ~20 s as keep-alive, `{"errors": [...]}` lines for operational disconnects.
Which posts come is set by rules (`/2/tweets/search/stream/rules`); with PULSE_INGEST_X_RULE set, the rule
tagged `stance-pulse` is made to match it at start. The stream has no cursor: after a disconnect, plans that
allow it recover the last 1 to 5 minutes with `backfill_minutes`; an outage longer than that is reported as a gap
(post ids are snowflakes, so the last one read says when the outage began). Reads are paid and capped per
month: every post delivered counts, whether or not it names a target, so the rule should be narrow.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from pydantic import SecretStr

from services.ingest.sources.base import (
    Event,
    FatalSourceError,
    Gap,
    Heartbeat,
    Incoming,
    SourceError,
    SourceEvent,
)

RULE_TAG = "stance-pulse"
TWITTER_EPOCH_MS = 1288834974657
FIELDS = {"tweet.fields": "created_at,lang,author_id", "expansions": "author_id", "user.fields": "username"}
GAP_TOLERANCE_S = 5.0


def snowflake_time(post_id: int) -> float:
    return ((post_id >> 22) + TWITTER_EPOCH_MS) / 1000.0


def parse_line(line: bytes) -> SourceEvent | None:
    """One stream line → an event; None for an error notice (the caller reconnects). Pure."""
    try:
        obj = json.loads(line)
        data = obj.get("data") if isinstance(obj, dict) else None
    except (ValueError, RecursionError) as exc:
        return SourceEvent("malformed", None, item=Incoming(raw=line, ref="x", error=f"not JSON: {exc}"[:300],
                                                            error_reason="malformed_event"))
    if data is None and isinstance(obj, dict) and "errors" in obj:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"].isdigit():
        return SourceEvent("malformed", None, item=Incoming(raw=line, ref="x", error="a post without an id",
                                                            error_reason="malformed_event"))
    position = int(data["id"])
    users = (obj.get("includes") or {}).get("users") or []
    names = {u.get("id"): u.get("username") for u in users if isinstance(u, dict)}
    post = {
        "id": f"x:{data['id']}",
        "text": data.get("text"),
        "created_at": data.get("created_at"),
        "author": names.get(data.get("author_id")) or data.get("author_id"),
        "lang": data.get("lang"),
        "source": "x",
    }
    return SourceEvent("post", position, snowflake_time(position),
                       Incoming(raw=line, ref=f"x:{data['id']}", record=post))


def _raise_for(status: int, what: str, headers: Any, clock: Callable[[], float]) -> None:
    if status in (401, 403):
        raise FatalSourceError(f"{what}: HTTP {status}: check PULSE_INGEST_X_BEARER_TOKEN and the project's access")
    retry_after = None
    reset = headers.get("x-rate-limit-reset") if headers else None
    if status == 429:
        retry_after = max(60.0, float(reset) - clock()) if reset and reset.isdigit() else 60.0
    raise SourceError(f"{what}: HTTP {status}", retry_after_s=retry_after)


class XFilteredStream:
    name = "x"

    def __init__(self, url: str, token: SecretStr, session: aiohttp.ClientSession, rule: str = "",
                 backfill_minutes: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.base = url.rstrip("/")
        self.hosts: tuple[str, ...] = (self.base,)
        self.session, self.token, self.rule, self.backfill_minutes = session, token, rule, backfill_minutes
        self.clock = clock
        self._rule_checked = False
        self._ended_at: float | None = None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token.get_secret_value()}"}

    def rewind(self, position: int, seconds: float) -> int:
        return position  # no cursor to rewind: recovery is by backfill_minutes

    async def ensure_rule(self, host: str) -> None:
        """Makes the rule tagged stance-pulse equal PULSE_INGEST_X_RULE; other rules are left alone."""
        url = f"{host}/2/tweets/search/stream/rules"
        async with self.session.get(url, headers=self._auth()) as resp:
            if resp.status != 200:
                _raise_for(resp.status, "stream rules", resp.headers, self.clock)
            current = (await resp.json()).get("data") or []
        ours = [r for r in current if r.get("tag") == RULE_TAG]
        if len(ours) == 1 and ours[0].get("value") == self.rule:
            return
        body: dict[str, Any] = {"add": [{"value": self.rule, "tag": RULE_TAG}]}
        if ours:
            async with self.session.post(url, json={"delete": {"ids": [r["id"] for r in ours]}},
                                         headers=self._auth()) as resp:
                if resp.status != 200:
                    _raise_for(resp.status, "deleting the old rule", resp.headers, self.clock)
        async with self.session.post(url, json=body, headers=self._auth()) as resp:
            if resp.status not in (200, 201):
                detail = (await resp.text())[:300]
                if resp.status == 400:
                    raise FatalSourceError(f"X refused the rule {self.rule!r}: {detail}")
                _raise_for(resp.status, "adding the rule", resp.headers, self.clock)

    async def stream(self, host: str, resume: int | None) -> AsyncIterator[Event]:
        if self.rule and not self._rule_checked:
            await self.ensure_rule(host)
            self._rule_checked = True
        params = dict(FIELDS)
        if resume is not None:
            # In this process the outage began when the last connection ended; after a restart only the last
            # post read says it (on a quiet rule that overstates the gap, so the line says "up to").
            began = self._ended_at if self._ended_at is not None else snowflake_time(resume)
            outage, window = self.clock() - began, self.backfill_minutes * 60.0
            if self.backfill_minutes:
                params["backfill_minutes"] = str(self.backfill_minutes)
            if outage - window > GAP_TOLERANCE_S:
                yield Gap(outage - window, f"disconnected up to {outage:.0f} s; the stream recovers "
                                           f"{self.backfill_minutes} min (PULSE_INGEST_X_BACKFILL_MINUTES)")
        try:
            async for event in self._read(host, params):
                yield event
        finally:
            self._ended_at = self.clock()

    async def _read(self, host: str, params: dict[str, str]) -> AsyncIterator[Event]:
        async with self.session.get(f"{host}/2/tweets/search/stream", params=params, headers=self._auth(),
                                    timeout=aiohttp.ClientTimeout(total=None, connect=15, sock_read=60)) as resp:
            if resp.status != 200:
                _raise_for(resp.status, "stream", resp.headers, self.clock)
            async for line in resp.content:
                line = line.strip()
                if not line:
                    yield Heartbeat()
                    continue
                event = parse_line(line)
                if event is None:
                    raise SourceError(f"the stream reported: {line[:300].decode(errors='replace')}")
                yield event

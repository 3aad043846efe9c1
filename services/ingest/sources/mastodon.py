"""Mastodon: an instance's hashtag (or public) streams over its streaming websocket, backfilled over REST.

Protocol (docs.joinmastodon.org/methods/streaming): one websocket to `/api/v1/streaming` (a token in the
Authorization header; required since Mastodon 4.2), one `{"type": "subscribe", "stream": "hashtag", "tag": T}`
message per tag; events `{"stream": [...], "event": "update", "payload": "<status JSON>"}`. The stream has no
cursor: after a disconnect or a restart the posts missed are fetched from the tag timelines
(`/api/v1/timelines/tag/T?min_id=ID`, 40 a page, oldest first) before the stream is read again; the socket is
subscribed first so nothing falls between the two (what arrives twice is counted once). Status ids are
snowflakes (milliseconds << 16), so they order posts and can be rewound by time. More than max_backfill_pages
behind is reported as a gap.

Boosts are not new opinions (the original is counted when it is seen) and edits keep their id: both only move the
cursor. The status's HTML is reduced to text.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable
from html.parser import HTMLParser
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
from services.ingest.sources.bluesky import wanted_langs

PAGE = 40
HEARTBEAT_S = 20.0


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def snowflake_time(status_id: int) -> float:
    return (status_id >> 16) / 1000.0


def _position(status: dict[str, Any]) -> int | None:
    sid = status.get("id")
    return int(sid) if isinstance(sid, str) and sid.isdigit() else None


def parse_status(status: Any, raw: bytes, wanted: frozenset[str]) -> SourceEvent:
    """A status (already decoded JSON) → an event. Pure."""
    if not isinstance(status, dict) or not isinstance(status.get("uri") or status.get("url"), str):
        return SourceEvent("malformed", None, item=Incoming(raw=raw, ref="mastodon", error="not a status",
                                                            error_reason="malformed_event"))
    position = _position(status)
    at = snowflake_time(position) if position is not None else None
    if status.get("reblog"):
        return SourceEvent("other", position, at)
    content = status.get("content")
    text = html_to_text(content) if isinstance(content, str) else content
    spoiler = status.get("spoiler_text")
    if isinstance(text, str) and isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}"
    if isinstance(text, str) and not text.strip():
        return SourceEvent("skipped", position, at)
    lang = status.get("language")
    if wanted and isinstance(lang, str) and lang.lower().split("-")[0] not in wanted:
        return SourceEvent("skipped", position, at)
    account = status.get("account")
    post = {
        "id": status.get("uri") or status.get("url"),  # the ActivityPub id: the same post on any instance
        "text": text,
        "created_at": status.get("created_at"),
        "author": account.get("acct") if isinstance(account, dict) else None,
        "lang": lang if isinstance(lang, str) else None,
        "source": "mastodon",
    }
    return SourceEvent("post", position, at, Incoming(raw=raw, ref=f"mastodon:{status.get('id')}", record=post))


def parse_frame(frame: bytes, wanted: frozenset[str]) -> SourceEvent:
    """One streaming-websocket message → an event. Pure."""
    try:
        obj = json.loads(frame)
        event = obj.get("event")
        payload = json.loads(obj["payload"]) if event == "update" else None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return SourceEvent("malformed", None, item=Incoming(
            raw=frame, ref="mastodon", error=f"not a streaming event: {type(exc).__name__}: {exc}"[:300],
            error_reason="malformed_event"))
    if event == "update":
        return parse_status(payload, frame, wanted)
    if event == "delete":
        return SourceEvent("delete", None)
    return SourceEvent("other", None)


def _raise_for(status: int, what: str, retry_after: str | None) -> None:
    if status in (401, 403):
        raise FatalSourceError(f"{what}: HTTP {status}: check PULSE_INGEST_MASTODON_TOKEN and its scopes")
    if status == 404:
        raise FatalSourceError(f"{what}: HTTP 404: check PULSE_INGEST_MASTODON_URL")
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    raise SourceError(f"{what}: HTTP {status}", retry_after_s=wait)


class MastodonSource:
    name = "mastodon"

    def __init__(self, url: str, token: SecretStr, tags: Iterable[str], langs: Iterable[str],
                 session: aiohttp.ClientSession, max_backfill_pages: int = 25,
                 clock: Any = time.time) -> None:
        self.base = url.rstrip("/")
        self.hosts: tuple[str, ...] = (self.base,)
        self.tags = [t.lstrip("#").strip() for t in tags if t.strip()]
        self.wanted = wanted_langs(langs)
        self.session, self.token, self.max_pages, self.clock = session, token, max_backfill_pages, clock

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token.get_secret_value()}"}

    def rewind(self, position: int, seconds: float) -> int:
        return max(0, position - (int(seconds * 1000) << 16))

    def _subscriptions(self) -> list[dict[str, str]]:
        if not self.tags:
            return [{"type": "subscribe", "stream": "public"}]
        return [{"type": "subscribe", "stream": "hashtag", "tag": t} for t in self.tags]

    async def stream(self, host: str, resume: int | None) -> AsyncIterator[Event]:
        ws_url = host.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/api/v1/streaming"
        try:
            ws = await self.session.ws_connect(ws_url, headers=self._auth(), heartbeat=HEARTBEAT_S)
        except aiohttp.WSServerHandshakeError as exc:
            _raise_for(exc.status, "streaming", exc.headers.get("Retry-After") if exc.headers else None)
            raise
        async with ws:
            for sub in self._subscriptions():
                await ws.send_json(sub)
            if resume is not None:
                async for event in self._backfill(host, resume):
                    yield event
            while True:
                try:
                    msg = await ws.receive(timeout=HEARTBEAT_S)
                except TimeoutError:
                    yield Heartbeat()  # quiet tag; the websocket's own ping/pong says the link is alive
                    continue
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                    yield parse_frame(data, self.wanted)
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    raise SourceError(f"streaming: {ws.exception()}")
                else:
                    raise SourceError(f"the instance closed the stream (code {ws.close_code})")

    async def _backfill(self, host: str, resume: int) -> AsyncIterator[Event]:
        paths = [f"/api/v1/timelines/tag/{t}" for t in self.tags] or ["/api/v1/timelines/public"]
        for path in paths:
            min_id, pages = resume, 0
            while True:
                if pages >= self.max_pages:
                    behind = self.clock() - snowflake_time(min_id)
                    yield Gap(max(0.0, behind), f"{path}: more than {self.max_pages} pages to backfill; posts "
                                                f"after id {min_id} and before the stream were not read")
                    break
                async with self.session.get(host + path, params={"min_id": str(min_id), "limit": str(PAGE)},
                                            headers=self._auth()) as resp:
                    if resp.status != 200:
                        _raise_for(resp.status, path, resp.headers.get("Retry-After"))
                    body = await resp.read()
                pages += 1
                try:
                    statuses = json.loads(body)
                    if not isinstance(statuses, list):
                        raise TypeError("not a list")
                except (ValueError, TypeError) as exc:
                    raise SourceError(f"{path}: not a status list: {exc}") from exc
                if not statuses:
                    break
                statuses.sort(key=lambda s: (_position(s) or 0) if isinstance(s, dict) else 0)
                for status in statuses:
                    event = parse_status(status, json.dumps(status).encode(), self.wanted)
                    if event.position is not None:
                        min_id = max(min_id, event.position)
                    yield event
                if len(statuses) < PAGE:
                    break

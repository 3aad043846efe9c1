"""Bluesky through Jetstream: the network's posts as JSON over a websocket, no account needed.

Protocol (github.com/bluesky-social/jetstream): `GET /subscribe?wantedCollections=app.bsky.feed.post&cursor=T`.
Every event carries `time_us`, the instance's receive time in unix microseconds, which is also the cursor: a
subscriber that reconnects with `cursor=T` gets every event from T on (the one at T again: delivery is at least
once). An instance keeps a day or more of events; an older cursor is clamped to its oldest event, and the
events between are gone. That shows up as a first event far later than the cursor, reported as a Gap. Cursors
are instance-local (each instance stamps its own receive time), which the runner's rewind covers when it fails
over to another host.

Server-side filtering is by collection only (`wantedCollections`); languages are filtered here, from the post's
own `langs`. Posts without text (images only) and posts in other languages move the cursor without being sent.
Deletes cannot be uncounted (a counted post stays counted) and are only counted as events; edits (`update`)
keep the post's id, which is counted once.

Authors: a post names its author by DID. Jetstream sends every subscriber the network's identity events (a DID's
current handle) whatever the collections asked for; the source keeps the latest handles it has seen (HandleBook)
and names a post's author `@handle` when it knows it, else by DID. Handles are not looked up elsewhere: that
would call the Bluesky AppView for every new author, a third-party dependency with its own rate limits.

Compression: Jetstream's zstd mode needs its custom dictionary, which would have to be vendored and kept in step
with the server; at the rates a pulse reads (posts only), plain JSON is a few hundred KB/s, so it is not used.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlencode

import aiohttp

from services.ingest.sources.base import Event, FatalSourceError, Gap, Incoming, SourceError, SourceEvent

POST_COLLECTION = "app.bsky.feed.post"
MAX_FRAME_BYTES = 1 << 20  # a post event is a few KB; a frame this large is not one


class HandleBook:
    """DID → handle, from identity events; the `capacity` most recently seen are kept (~150 bytes each)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._handles: OrderedDict[str, str] = OrderedDict()

    def learn(self, did: str, handle: str | None) -> None:
        if not handle or handle == "handle.invalid":  # an identity whose handle no longer verifies
            self._handles.pop(did, None)
            return
        self._handles[did] = handle
        self._handles.move_to_end(did)
        if len(self._handles) > self.capacity:
            self._handles.popitem(last=False)

    def author(self, did: str) -> str:
        """`@handle` when known, else the DID."""
        handle = self._handles.get(did)
        return f"@{handle}" if handle else did

    def __len__(self) -> int:
        return len(self._handles)


def wanted_langs(langs: Iterable[str]) -> frozenset[str]:
    """Primary language subtags to keep ('en' keeps 'en-US'); empty keeps every language."""
    return frozenset(lang.strip().lower().split("-")[0] for lang in langs if lang.strip())


def _lang_ok(langs: Any, wanted: frozenset[str]) -> bool:
    if not wanted or not isinstance(langs, list) or not langs:
        return True  # a post that declares no language is kept: routing and the model decide
    return any(isinstance(x, str) and x.lower().split("-")[0] in wanted for x in langs)


def parse_event(frame: bytes, wanted: frozenset[str], handles: HandleBook | None = None) -> SourceEvent:
    """One Jetstream frame → an event; an identity event updates `handles`, a post's author is read from it."""
    try:
        obj = json.loads(frame)
        time_us = obj["time_us"]
        if not isinstance(time_us, int) or isinstance(time_us, bool):
            raise TypeError("time_us is not an integer")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return SourceEvent("malformed", None, item=Incoming(
            raw=frame, ref="bluesky", error=f"not a Jetstream event: {type(exc).__name__}: {exc}"[:300],
            error_reason="malformed_event"))
    at = time_us / 1e6
    identity = obj.get("identity") if obj.get("kind") == "identity" else None
    if isinstance(identity, dict) and isinstance(obj.get("did"), str) and handles is not None:
        handle = identity.get("handle")
        handles.learn(obj["did"], handle if isinstance(handle, str) else None)
        return SourceEvent("other", time_us, at)
    commit = obj.get("commit") if obj.get("kind") == "commit" else None
    if not isinstance(commit, dict) or commit.get("collection") != POST_COLLECTION:
        return SourceEvent("other", time_us, at)
    if commit.get("operation") == "delete":
        return SourceEvent("delete", time_us, at)
    if commit.get("operation") != "create":
        return SourceEvent("other", time_us, at)
    record = commit.get("record")
    did, rkey = obj.get("did"), commit.get("rkey")
    if not isinstance(record, dict) or not isinstance(did, str) or not isinstance(rkey, str):
        return SourceEvent("malformed", time_us, at, Incoming(
            raw=frame, ref=f"bluesky:{time_us}", error="a post event without did, rkey or record",
            error_reason="malformed_event"))
    text = record.get("text")
    if isinstance(text, str) and not text.strip():
        return SourceEvent("skipped", time_us, at)  # images only: nothing to classify
    langs = record.get("langs")
    if not _lang_ok(langs, wanted):
        return SourceEvent("skipped", time_us, at)
    post = {
        "id": f"at://{did}/{POST_COLLECTION}/{rkey}",
        "text": text,  # validated downstream like any record (a non-string goes to the DLQ)
        "created_at": record.get("createdAt"),
        "author": handles.author(did) if handles is not None else did,
        "lang": langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        "source": "bluesky",
    }
    return SourceEvent("post", time_us, at, Incoming(raw=frame, ref=f"bluesky:{time_us}", record=post))


def subscribe_url(host: str, resume: int | None) -> str:
    params: dict[str, str | int] = {"wantedCollections": POST_COLLECTION}
    if resume is not None:
        params["cursor"] = resume
    return f"{host.rstrip('/')}/subscribe?{urlencode(params)}"


class JetstreamSource:
    name = "bluesky"

    def __init__(self, hosts: Iterable[str], langs: Iterable[str], session: aiohttp.ClientSession,
                 gap_tolerance_s: float = 30.0, heartbeat_s: float = 20.0) -> None:
        self.hosts = tuple(hosts)
        if not self.hosts:
            raise ValueError("no Jetstream hosts configured")
        self.wanted = wanted_langs(langs)
        self.session, self.gap_tolerance_s, self.heartbeat_s = session, gap_tolerance_s, heartbeat_s
        self.handles = HandleBook()  # kept across reconnects: handles stay true whichever host sends them

    def rewind(self, position: int, seconds: float) -> int:
        return max(0, position - int(seconds * 1e6))

    async def stream(self, host: str, resume: int | None) -> AsyncIterator[Event]:
        try:
            ws = await self.session.ws_connect(subscribe_url(host, resume), heartbeat=self.heartbeat_s,
                                               max_msg_size=MAX_FRAME_BYTES, autoping=True)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (400, 401, 403, 404):
                raise FatalSourceError(f"{host} refused the subscription: HTTP {exc.status}") from exc
            raise SourceError(f"{host}: HTTP {exc.status}") from exc
        first = True
        async with ws:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    frame = msg.data.encode("utf-8", "surrogatepass")
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    frame = msg.data
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    raise SourceError(f"{host}: {ws.exception()}")
                else:
                    break
                event = parse_event(frame, self.wanted, self.handles)
                if first and resume is not None and event.position is not None:
                    first = False
                    behind_s = (event.position - resume) / 1e6
                    if behind_s > self.gap_tolerance_s:
                        yield Gap(behind_s, f"{host} resumed {behind_s:.0f} s after the cursor asked for "
                                            f"(cursor {resume} is older than the instance keeps)")
                yield event
        if ws.close_code not in (None, aiohttp.WSCloseCode.OK):
            raise SourceError(f"{host} closed the stream (code {ws.close_code})")

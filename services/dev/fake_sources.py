"""Local stand-ins for the live sources' servers, speaking their wire formats: Jetstream, Mastodon, X.

For tests and for a demo with no internet (`pulse up --source bluesky --fake-source`). Each keeps what it has
published, so subscribers can resume from a cursor (Jetstream), backfill over REST (Mastodon) or recover minutes
(X), and each can be told to drop connections every N frames, forget old history (a cursor too old) or serve
garbage, the ways real hosts fail. They run in a thread with their own event loop (`ServerThread`), or as
`python -m services.dev.fake_sources jetstream --port P` publishing the bundled sample tweets forever.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from services.ingest.sources.bluesky import POST_COLLECTION
from services.ingest.sources.x import TWITTER_EPOCH_MS


def did_for(author: str) -> str:
    return "did:plc:" + hashlib.blake2b(author.encode(), digest_size=12).hexdigest()


def jetstream_post(tweet: dict[str, Any], rkey: str | None = None) -> dict[str, Any]:
    """A Jetstream commit event (without time_us) for a sample tweet, in the recorded format."""
    return {"did": did_for(tweet.get("author") or "someone"), "kind": "commit", "commit": {
        "rev": "3l3qo2vuowo2b", "operation": "create", "collection": POST_COLLECTION,
        "rkey": rkey or str(tweet["id"]), "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
        "record": {"$type": POST_COLLECTION,
                   "createdAt": tweet.get("created_at") or datetime.now(UTC).isoformat(timespec="milliseconds"),
                   "langs": [tweet.get("lang") or "en"], "text": tweet["text"]}}}


def jetstream_identity(author: str) -> dict[str, Any]:
    """A Jetstream identity event (without time_us): the author's DID now has the handle `<author>.bsky.social`."""
    did = did_for(author)
    return {"did": did, "kind": "identity", "identity": {
        "did": did, "handle": f"{author.lower()}.bsky.social", "seq": 1,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds")}}


def jetstream_id(event: dict[str, Any]) -> str:
    """The id ingest gives the post in a Jetstream event."""
    return f"at://{event['did']}/{POST_COLLECTION}/{event['commit']['rkey']}"


class ServerThread:
    """Runs an aiohttp app on 127.0.0.1 in a thread; `port` once started."""

    def __init__(self, app: web.Application, port: int = 0) -> None:
        self.app, self.port = app, port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> ServerThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @staticmethod
    async def _cancel_the_rest() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def call(self, fn: Any, *args: Any) -> Any:
        """Runs fn(*args) on the server's loop (fakes are not thread-safe) and returns its result."""
        async def run() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        asyncio.run_coroutine_threadsafe(self._cancel_the_rest(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class _Faults:
    disconnect_every: int = 0  # frames per connection before the server drops it (0: never)
    connections: int = 0
    cursors: list[int | None] = field(default_factory=list)  # what each connection asked for


class FakeJetstream(_Faults):
    """GET /subscribe?wantedCollections=…&cursor=…: publishes what it is given, keeps it, resumes from cursors."""

    def __init__(self, disconnect_every: int = 0) -> None:
        super().__init__(disconnect_every)
        self.log: list[tuple[int, bytes]] = []  # (time_us, frame), in time order
        self.oldest_kept = 0  # index of the oldest event still kept: older cursors are clamped to it
        self.changed = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/subscribe", self.subscribe)

    def publish(self, events: Iterable[dict[str, Any] | bytes]) -> list[int]:
        """Appends events (dicts get a fresh time_us; bytes are sent as they are) and returns their times."""
        times = []
        for event in events:
            now = max(int(time.time() * 1e6), self.log[-1][0] + 1 if self.log else 0)
            frame = json.dumps({**event, "time_us": now}).encode() if isinstance(event, dict) else event
            self.log.append((now, frame))
            times.append(now)
        self.changed.set()
        self.changed = asyncio.Event()
        return times

    def forget_before(self, time_us: int) -> None:
        """Drops history older than time_us: a cursor before it resumes at the oldest kept event."""
        while self.oldest_kept < len(self.log) and self.log[self.oldest_kept][0] < time_us:
            self.oldest_kept += 1

    def _start_index(self, cursor: int | None) -> int:
        if cursor is None:
            return len(self.log)  # live: only what is published from now on
        for i in range(self.oldest_kept, len(self.log)):
            if self.log[i][0] >= cursor:
                return i
        return len(self.log)

    async def subscribe(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("wantedCollections") != POST_COLLECTION:
            return web.Response(status=400, text="this fake serves wantedCollections=app.bsky.feed.post only")
        cursor = request.query.get("cursor")
        self.connections += 1
        self.cursors.append(int(cursor) if cursor else None)
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        i, sent = self._start_index(int(cursor) if cursor else None), 0
        while not ws.closed:
            if i >= len(self.log):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.5)
                continue
            frame = self.log[i][1]
            if self._is_text(frame):
                await ws.send_str(frame.decode())
            else:
                await ws.send_bytes(frame)
            i, sent = i + 1, sent + 1
            if self.disconnect_every and sent >= self.disconnect_every:
                await ws.close(code=1011, message=b"fake: dropped")
        return ws

    @staticmethod
    def _is_text(frame: bytes) -> bool:
        try:
            frame.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False


def mastodon_status(tweet: dict[str, Any], status_id: int, host: str = "mastodon.example") -> dict[str, Any]:
    author = tweet.get("author") or "someone"
    return {"id": str(status_id), "uri": f"https://{host}/users/{author}/statuses/{status_id}",
            "url": f"https://{host}/@{author}/{status_id}", "created_at": tweet.get("created_at"),
            "language": tweet.get("lang") or "en", "spoiler_text": "", "reblog": None,
            "content": "<p>" + tweet["text"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>",
            "account": {"id": "1", "acct": author, "username": author}}


class FakeMastodon(_Faults):
    """The streaming websocket (/api/v1/streaming, hashtag and public streams) and the tag timelines."""

    def __init__(self, token: str, disconnect_every: int = 0) -> None:
        super().__init__(disconnect_every)
        self.token = token
        self.statuses: list[tuple[set[str], dict[str, Any]]] = []  # (tags, status), ids increasing
        self.queues: list[tuple[set[str], asyncio.Queue[bytes]]] = []
        self.app = web.Application()
        self.app.router.add_get("/api/v1/streaming", self.streaming)
        self.app.router.add_get("/api/v1/timelines/tag/{tag}", self.tag_timeline)
        self.next_ms = int(time.time() * 1000)

    def new_id(self) -> int:
        self.next_ms = max(self.next_ms + 1, int(time.time() * 1000))
        return self.next_ms << 16

    def publish(self, statuses: Iterable[dict[str, Any]], tags: Iterable[str]) -> None:
        tagset = {t.lower() for t in tags}
        for status in statuses:
            self.statuses.append((tagset, status))
            frame = json.dumps({"stream": ["hashtag"], "event": "update", "payload": json.dumps(status)}).encode()
            for subscribed, queue in self.queues:
                if subscribed & tagset or "*public" in subscribed:
                    queue.put_nowait(frame)

    def send_raw(self, frame: bytes) -> None:
        for _, queue in self.queues:
            queue.put_nowait(frame)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def streaming(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return web.json_response({"error": "Missing access token"}, status=401)
        self.connections += 1
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        subscribed: set[str] = set()
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        entry = (subscribed, queue)
        self.queues.append(entry)
        sent = 0
        try:
            while not ws.closed:
                recv = asyncio.ensure_future(ws.receive())
                get = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({recv, get}, return_when=asyncio.FIRST_COMPLETED)
                for task in (recv, get):
                    if task not in done:
                        task.cancel()
                if recv in done:
                    msg = recv.result()
                    if msg.type != web.WSMsgType.TEXT:
                        break
                    sub = json.loads(msg.data)
                    subscribed.add(sub["tag"].lower() if sub.get("stream") == "hashtag" else "*public")
                if get in done:
                    await ws.send_str(get.result().decode())
                    sent += 1
                    if self.disconnect_every and sent >= self.disconnect_every:
                        await ws.close(code=1011, message=b"fake: dropped")
        finally:
            self.queues.remove(entry)
        return ws

    async def tag_timeline(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "The access token is invalid"}, status=401)
        tag, min_id = request.match_info["tag"].lower(), int(request.query.get("min_id", "0"))
        limit = min(40, int(request.query.get("limit", "20")))
        newer = [s for tags, s in self.statuses if tag in tags and int(s["id"]) > min_id][:limit]
        return web.json_response(list(reversed(newer)))  # newest first, as Mastodon pages


def x_post(tweet: dict[str, Any], post_id: int) -> dict[str, Any]:
    return {"data": {"id": str(post_id), "text": tweet["text"], "created_at": tweet.get("created_at"),
                     "lang": tweet.get("lang") or "en", "author_id": "42", "edit_history_tweet_ids": [str(post_id)]},
            "includes": {"users": [{"id": "42", "username": tweet.get("author") or "someone"}]},
            "matching_rules": [{"id": "1", "tag": "stance-pulse"}]}


class FakeX(_Faults):
    """GET /2/tweets/search/stream (newline-delimited JSON, keep-alives, backfill_minutes) and its rules."""

    def __init__(self, token: str, disconnect_every: int = 0, keepalive_s: float = 1.0) -> None:
        super().__init__(disconnect_every)
        self.token, self.keepalive_s = token, keepalive_s
        self.posts: list[tuple[float, bytes]] = []  # (publish time, line)
        self.rules: list[dict[str, str]] = []
        self.queues: list[asyncio.Queue[bytes]] = []
        self.backfills: list[int] = []
        self.app = web.Application()
        self.app.router.add_get("/2/tweets/search/stream", self.stream)
        self.app.router.add_get("/2/tweets/search/stream/rules", self.get_rules)
        self.app.router.add_post("/2/tweets/search/stream/rules", self.post_rules)
        self.seq = 0

    def new_id(self) -> int:
        self.seq += 1
        return ((int(time.time() * 1000) - TWITTER_EPOCH_MS) << 22) | (self.seq & 0x3FFFFF)

    def publish(self, posts: Iterable[dict[str, Any]]) -> None:
        for post in posts:
            line = json.dumps(post).encode() + b"\r\n"
            self.posts.append((time.time(), line))
            for queue in self.queues:
                queue.put_nowait(line)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        self.connections += 1
        minutes = int(request.query.get("backfill_minutes", "0"))
        self.backfills.append(minutes)
        resp = web.StreamResponse()
        await resp.prepare(request)
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for at, line in self.posts:
            if minutes and at >= time.time() - minutes * 60:
                queue.put_nowait(line)
        self.queues.append(queue)
        sent = -queue.qsize()  # drops count live posts only: a backfill is not cut short
        try:
            while True:
                try:
                    line = await asyncio.wait_for(queue.get(), self.keepalive_s)
                except TimeoutError:
                    await resp.write(b"\r\n")
                    continue
                await resp.write(line)
                sent += 1
                if self.disconnect_every and sent >= self.disconnect_every:
                    await resp.write(b'{"errors":[{"title":"operational-disconnect"}]}\r\n')
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.queues.remove(queue)
        return resp

    async def get_rules(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"status": 401}, status=401)
        return web.json_response({"data": self.rules} if self.rules else {"meta": {"result_count": 0}})

    async def post_rules(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"status": 401}, status=401)
        body = await request.json()
        ids = set((body.get("delete") or {}).get("ids") or [])
        self.rules = [r for r in self.rules if r["id"] not in ids]
        for rule in body.get("add") or []:
            self.rules.append({"id": str(len(self.rules) + 100), "value": rule["value"], "tag": rule.get("tag", "")})
        return web.json_response({"data": self.rules}, status=201 if body.get("add") else 200)


def sample_tweets(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def endless(tweets: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The sample again and again, each pass with new ids (a live stream does not repeat posts)."""
    k = 0
    while True:
        for t in tweets:
            yield {**t, "id": f"{t['id']}-{k}"}
        k += 1


async def _publish_forever(fake: FakeJetstream, tweets: list[dict[str, Any]], rate: float) -> None:
    # Each author's identity before their first post of a pass, as the network announces identities now and then
    # (a subscriber that joins late learns the handles on the next pass): the page names them by handle.
    announced: set[str] = set()
    for n, tweet in enumerate(endless(tweets)):
        if n % len(tweets) == 0:
            announced.clear()
        author = tweet.get("author") or "someone"
        if author not in announced:
            announced.add(author)
            fake.publish([jetstream_identity(author)])
        fake.publish([jetstream_post(tweet)])
        await asyncio.sleep(1 / rate)


def main() -> None:
    from services.dev.up import sample_file  # the sample lives with the local stack

    p = argparse.ArgumentParser(description="a local Jetstream publishing the sample tweets forever")
    p.add_argument("kind", choices=["jetstream"])
    p.add_argument("--port", type=int, default=6008)
    p.add_argument("--rate", type=float, default=20.0, help="posts per second")
    p.add_argument("--sample", default=None, help="JSON Lines of tweets (default: the bundled sample)")
    args = p.parse_args()
    fake = FakeJetstream()

    async def serve() -> None:
        runner = web.AppRunner(fake.app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        await _publish_forever(fake, sample_tweets(args.sample or str(sample_file())), args.rate)

    asyncio.run(serve())


if __name__ == "__main__":
    main()

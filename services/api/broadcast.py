"""Websocket fan-out: one Redis pub/sub subscription per API process, throttled snapshots to every client.

Spikes ride the same sockets: a `spikes` message on connect and whenever the list changes, read at most every
`spike_check_s` (the rule works on 5-minute points; one read serves every subscriber).

Every API replica subscribes to the aggregator's update channel, so clients on any replica see updates
(a ConnectionManager alone would reach only one process). Updates mark the snapshot dirty; a loop sends at
most one snapshot per throttle interval, and one per heartbeat interval even when nothing was counted,
because rolling windows move with the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from fastapi import WebSocket
from prometheus_client import Counter, Gauge

from services.api.schemas import Snapshot, StreamSnapshot, StreamSpikes
from services.common.redis_clients import AsyncClient

log = logging.getLogger(__name__)

CLIENTS = Gauge("pulse_api_websocket_clients", "Connected websocket subscribers")
PUSHES = Counter("pulse_api_websocket_messages_total", "Snapshots pushed to websocket subscribers")
UPDATES = Counter("pulse_api_updates_received_total", "Update notices received from the aggregator")

SnapshotRead = Callable[[str], Awaitable[Snapshot]]
SpikeRead = Callable[[], Awaitable[dict[str, Any]]]
T = TypeVar("T")


class SnapshotCache(Generic[T]):
    """One snapshot computation per window at a time, reused for `max_age_s` or until the next update.

    A burst of subscribers connecting together then costs one Redis read, not one each (which exhausted the
    connection pool at a few hundred): callers arriving while a read is in flight await that same read. An update
    notice (`invalidate`) starts a new generation: nothing read before it is served after it.
    """

    def __init__(self, compute: Callable[[str], Awaitable[T]], max_age_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.compute, self.max_age_s, self.clock = compute, max_age_s, clock
        self._generation = 0
        self._fresh: dict[str, tuple[int, float, T]] = {}  # window → (generation, read at, value)
        self._inflight: dict[tuple[str, int], asyncio.Future[T]] = {}

    def invalidate(self) -> None:
        self._generation += 1

    async def get(self, window: str) -> T:
        generation = self._generation
        hit = self._fresh.get(window)
        if hit is not None and hit[0] == generation and self.clock() - hit[1] < self.max_age_s:
            return hit[2]
        key = (window, generation)
        if key in self._inflight:
            return await asyncio.shield(self._inflight[key])
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await self.compute(window)
            self._fresh[window] = (generation, self.clock(), value)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a future no one else awaited does not warn
            raise
        finally:
            del self._inflight[key]


class Broadcaster:
    def __init__(self, client: AsyncClient, channel: str, snapshot: SnapshotRead, throttle_s: float,
                 heartbeat_s: float, max_clients: int, spikes: SpikeRead | None = None,
                 spike_check_s: float = 15.0) -> None:
        self.client, self.channel = client, channel
        self.snapshots = SnapshotCache(snapshot, max_age_s=throttle_s)
        # never invalidated by updates: spikes move with 5-minute points, not with every post
        self._spikes = None if spikes is None else SnapshotCache(lambda _: spikes(), max_age_s=spike_check_s)
        self._sent_spikes: list[Any] = []  # a new subscriber has the list already: sent on connect
        self.throttle_s, self.heartbeat_s, self.max_clients = throttle_s, heartbeat_s, max_clients
        self.clients: dict[WebSocket, str] = {}  # socket → window it watches
        self._slots = 0  # admitted subscribers, counted before their first await: the cap holds under a burst
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen(), name="pulse-subscribe"),
                       asyncio.create_task(self._push_loop(), name="pulse-push")]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def admit(self) -> bool:
        """Takes a subscriber slot if one is free. No await between the check and the count: atomic in asyncio."""
        if self._slots >= self.max_clients:
            return False
        self._slots += 1
        return True

    def release(self) -> None:
        self._slots -= 1

    def add(self, ws: WebSocket, window: str) -> None:
        self.clients[ws] = window
        CLIENTS.set(len(self.clients))

    def remove(self, ws: WebSocket) -> None:
        self.clients.pop(ws, None)
        CLIENTS.set(len(self.clients))

    async def _listen(self) -> None:
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    while True:  # short polls: an idle channel must not trip the client's socket timeout
                        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if msg is not None and msg.get("type") == "message":
                            UPDATES.inc()
                            self.snapshots.invalidate()
                            self._dirty.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: keep the API up and resubscribe
                log.warning("update subscription lost (%s); retrying in 1 s", exc)
                await asyncio.sleep(1.0)

    async def _push_loop(self) -> None:
        last_push = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), timeout=self.heartbeat_s)
            self._dirty.clear()
            if self.clients:
                try:
                    await self.push_all()
                    await self.push_spikes()
                except Exception as exc:
                    log.warning("push failed: %s", exc)
            # Throttle: updates arriving during the pause are folded into the next push.
            wait = self.throttle_s - (time.monotonic() - last_push)
            last_push = time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)

    async def push_all(self) -> None:
        snapshots: dict[str, Snapshot] = {}
        for window in set(self.clients.values()):
            snapshots[window] = await self.snapshots.get(window)
        messages = {window: snapshot_message(snap) for window, snap in snapshots.items()}
        for ws, window in list(self.clients.items()):
            try:
                await ws.send_json(messages[window])
                PUSHES.inc()
            except Exception:
                self.remove(ws)

    async def spike_message(self) -> dict[str, Any] | None:
        """The `spikes` message as of now (cached for spike_check_s); None when spikes are not served."""
        if self._spikes is None:
            return None
        return StreamSpikes.model_validate({"type": "spikes", **await self._spikes.get("all")}).model_dump(mode="json")

    async def push_spikes(self) -> None:
        """Sends the spikes to every subscriber when the list differs from the one last sent."""
        msg = await self.spike_message()
        if msg is None or msg["spikes"] == self._sent_spikes:
            return
        self._sent_spikes = msg["spikes"]
        for ws in list(self.clients):
            try:
                await ws.send_json(msg)
                PUSHES.inc()
            except Exception:
                self.remove(ws)


def snapshot_message(snapshot: Snapshot) -> dict[str, Any]:
    """The `snapshot` websocket message: the REST snapshot's model, so both say the same thing in the same shape."""
    return StreamSnapshot(type="snapshot", **dict(snapshot)).model_dump(mode="json")

"""Websocket subscribers arriving all at once: every one gets its snapshot, and the cap admits exactly its number."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from services.dev.servers import free_port
from tests.integration.harness import running_api, wait_until
from tests.integration.test_api import scored, seed

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


async def subscribe_together(url: str, n: int) -> list[str]:
    """n clients connect at the same moment and stay connected until all have their first message; returns the
    type of each one's first message ("snapshot", "error"), or "closed"/"failed"."""
    everyone_in = asyncio.Event()
    arrived = [0]

    async def one() -> str:
        try:
            async with connect(url, open_timeout=30, max_size=None) as ws:
                try:
                    first = json.loads(await asyncio.wait_for(ws.recv(), 30))["type"]
                except ConnectionClosed:
                    first = "closed"
                arrived[0] += 1
                if arrived[0] == n:
                    everyone_in.set()
                await asyncio.wait_for(everyone_in.wait(), 60)  # hold the slot until the whole burst has its answer
                return str(first)
        except (OSError, TimeoutError, ConnectionClosed) as exc:
            arrived[0] += 1
            if arrived[0] == n:
                everyone_in.set()
            return f"failed: {type(exc).__name__}"

    return await asyncio.gather(*(one() for _ in range(n)))


def test_300_subscribers_at_once_all_get_a_snapshot(redis_url: str, tmp_path: Path) -> None:
    with running_api(redis_url, tmp_path) as (base, prefix):
        seed(redis_url, prefix, [(scored(1, "Joe Biden", "Democrats", "FAVOR"), time.time())])
        url = base.replace("http://", "ws://") + "/v1/pulse/stream?window=15m"
        firsts = asyncio.run(subscribe_together(url, 300))
    assert firsts.count("snapshot") == 300, sorted(set(firsts))


def connected_clients(metrics_url: str) -> float:
    line = next(ln for ln in httpx.get(metrics_url).text.splitlines() if ln.startswith("pulse_api_websocket_clients "))
    return float(line.split()[1])


def test_the_subscriber_cap_holds_under_a_concurrent_burst(redis_url: str, tmp_path: Path) -> None:
    metrics_port = free_port()
    with running_api(redis_url, tmp_path, PULSE_API_MAX_STREAM_CLIENTS="20",
                     PULSE_API_METRICS_PORT=str(metrics_port)) as (base, _):
        url = base.replace("http://", "ws://") + "/v1/pulse/stream?window=1h"
        firsts = asyncio.run(subscribe_together(url, 40))
        assert (firsts.count("snapshot"), firsts.count("error")) == (20, 20), firsts
        # The server hears of each close after the client's handshake returns: wait until it has seen all of them
        # (on a loaded machine a second burst sent at once races the first one's cleanup).
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        wait_until(lambda: connected_clients(metrics_url) == 0, timeout=30, what="the first burst's disconnects")
        # The refused ones were turned away, not left holding slots: the whole cap is free again.
        assert asyncio.run(subscribe_together(url, 20)).count("snapshot") == 20

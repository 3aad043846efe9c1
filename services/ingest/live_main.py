"""`pulse ingest --source NAME`: builds the live source from its settings and runs it until a signal."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import aiohttp

from services.common.ops import Probe
from services.common.redis_clients import sync_client
from services.common.settings import RedisSettings
from services.ingest.app import Ingestor
from services.ingest.checkpoint import CheckpointStore
from services.ingest.live import LiveRunner
from services.ingest.settings import BlueskySettings, IngestSettings, LiveSettings, MastodonSettings, XSettings
from services.ingest.sources.base import LiveSource
from services.ingest.sources.bluesky import JetstreamSource
from services.ingest.sources.mastodon import MastodonSource
from services.ingest.sources.x import XFilteredStream

log = logging.getLogger(__name__)

LIVE_SOURCES = ("bluesky", "mastodon", "x")
EXIT_STOPPED_UNCLEAN = 1  # the broker failed a delivery: restart resumes from the checkpoint
EXIT_SOURCE_REFUSED = 2  # bad credentials or a subscription the server rejects: fix the settings
EXIT_INTERRUPTED = 130
USER_AGENT = "stance-pulse (+https://github.com/stance-pulse)"


class SettingsError(ValueError):
    pass


def build_source(name: str, session: aiohttp.ClientSession, tags: list[str] | None) -> LiveSource:
    if name == "bluesky":
        b = BlueskySettings()
        return JetstreamSource(b.hosts, b.langs, session, gap_tolerance_s=b.gap_tolerance_s)
    if name == "mastodon":
        m = MastodonSettings()
        if m.token is None:
            raise SettingsError("the Mastodon source needs PULSE_INGEST_MASTODON_TOKEN (streaming needs a token "
                                "since Mastodon 4.2): create an application with read:statuses on the instance")
        return MastodonSource(m.url, m.token, tags if tags is not None else m.tags, m.langs, session,
                              max_backfill_pages=m.max_backfill_pages)
    if name == "x":
        x = XSettings()
        if x.bearer_token is None:
            raise SettingsError("the X source needs PULSE_INGEST_X_BEARER_TOKEN (an app-only token of a project "
                                "with filtered-stream access)")
        return XFilteredStream(x.url, x.bearer_token, session, rule=x.rule, backfill_minutes=x.backfill_minutes)
    raise SettingsError(f"unknown source {name!r}")


async def _run(name: str, ingestor: Ingestor, settings: IngestSettings, tags: list[str] | None,
               probe: Probe) -> int:
    live, redis_settings = LiveSettings(), RedisSettings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():  # a second signal: the operator wants out now
            log.error("second signal: exiting without waiting for the broker")
            os._exit(EXIT_INTERRUPTED)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    client = sync_client(redis_settings, socket_timeout=5, socket_connect_timeout=5)
    timeout = aiohttp.ClientTimeout(total=None, connect=15, sock_connect=15)
    try:
        async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": USER_AGENT}) as session:
            try:
                source = build_source(name, session, tags)
            except SettingsError as exc:
                log.error("%s", exc)
                return EXIT_SOURCE_REFUSED
            runner = LiveRunner(source, ingestor, CheckpointStore(client, redis_settings.key_prefix), live, probe)
            report = await runner.run(stop, flush_timeout_s=settings.stop_timeout_s)
    finally:
        client.close()
    if report.stopped == "source":
        return EXIT_SOURCE_REFUSED
    return 0 if report.clean else EXIT_STOPPED_UNCLEAN


def run_live(name: str, ingestor: Ingestor, settings: IngestSettings, tags: list[str] | None,
             probe: Probe) -> int:
    return asyncio.run(_run(name, ingestor, settings, tags, probe))

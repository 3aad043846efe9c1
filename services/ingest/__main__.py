"""`pulse ingest`: replay a file / stdin into Kafka, serve the HTTP source, or read a live source."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

import uvicorn

from services.common.command import CommandError, require_input_file, run_command
from services.common.http_protocol import with_header_deadline
from services.common.kafka import DeadLetters, ensure_topics, make_producer
from services.common.logging import configure_logging
from services.common.metrics import serve_metrics
from services.common.ops import Probe, serve_ops
from services.common.routing import Router
from services.common.schemas import MAX_SOURCE_CHARS
from services.common.settings import KafkaSettings, RoutingSettings
from services.ingest.app import BrokerOutage, Ingestor, replay
from services.ingest.http import create_http_app
from services.ingest.live_main import LIVE_SOURCES, run_live
from services.ingest.parsing import Limits
from services.ingest.readiness import BrokerCheck
from services.ingest.settings import IngestSettings
from services.ingest.sources import open_source

log = logging.getLogger("services.ingest")

EXIT_NOT_DELIVERED = 1  # some records were not acknowledged by the broker: the report says how many
EXIT_INTERRUPTED = 130


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--replay", metavar="FILE", help="JSON Lines or CSV file to replay; '-' reads stdin")
    src.add_argument("--http", action="store_true", help="serve POST /v1/tweets (needs PULSE_INGEST_TOKEN)")
    src.add_argument("--source", choices=LIVE_SOURCES,
                     help="read a live source, resuming from its checkpoint in Redis (see README: Live sources)")
    p.add_argument("--tag", action="append", default=None,
                   help="with --source mastodon: a hashtag to follow (repeatable; default PULSE_INGEST_MASTODON_TAGS)")
    p.add_argument("--format", choices=["jsonl", "csv"], help="source format (default: from the file name)")
    p.add_argument("--rate", type=float, default=None, help="tweets per second (default: as fast as possible)")
    p.add_argument("--loop", action="store_true", help="replay forever; pass k>0 suffixes ids with ~k")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--source-name", default=None, metavar="NAME",
                   help="what the posts of a replay or of the HTTP source are counted as when they do not name "
                        "their source (default: replay, http; pulse up names its bundled sample demo)")


def build_ingestor(kafka: KafkaSettings, settings: IngestSettings, source: str | None = None) -> Ingestor:
    ensure_topics(kafka)
    producer = make_producer(
        kafka,
        delivery_timeout_ms=int(settings.delivery_timeout_s * 1000),
        request_timeout_ms=min(10_000, int(settings.delivery_timeout_s * 1000) - 100),
        max_block_ms=int(settings.max_block_s * 1000),
        linger_ms=settings.linger_ms,
    )
    return Ingestor(
        router=Router.load(RoutingSettings().routing_config or None),
        producer=producer,
        topic=kafka.raw_topic,
        dead_letters=DeadLetters(producer, kafka.dlq_topic, stage="ingest"),
        limits=Limits(settings.max_line_bytes, settings.max_text_chars),
        source=source,
    )


def run(args: argparse.Namespace) -> int:
    configure_logging()
    kafka, settings = KafkaSettings(), IngestSettings()
    if args.http and settings.token is None:
        raise CommandError("the HTTP source needs PULSE_INGEST_TOKEN (16+ characters, 8+ different ones)")
    if args.replay:
        require_input_file(args.replay)
    probe = Probe(stale_after_s=60.0)
    if settings.metrics_port and args.source:  # a live source has no HTTP port: probes go to the operations port
        serve_ops("0.0.0.0", settings.metrics_port, probe)
    elif settings.metrics_port:
        serve_metrics("0.0.0.0", settings.metrics_port)
    source = args.source_name or ("http" if args.http else "replay" if args.replay else None)
    if source is not None and not (0 < len(source) <= MAX_SOURCE_CHARS):
        raise CommandError(f"--source-name takes 1 to {MAX_SOURCE_CHARS} characters")
    ingestor = build_ingestor(kafka, settings, source)
    try:
        if args.source:
            return run_live(args.source, ingestor, settings, args.tag, probe)
        if args.http:

            app = create_http_app(ingestor, settings, kafka)
            # limit_concurrency: connections beyond it get 503 at once, so slow clients cannot pile up without bound
            uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level="warning",
                        limit_concurrency=settings.http_max_connections, timeout_keep_alive=5,
                        http=with_header_deadline(settings.http_read_timeout_s))
            return 0
        stop = threading.Event()

        def on_signal(*_: object) -> None:
            if stop.is_set():  # a second signal: the operator wants out now
                log.error("second signal: exiting without waiting for the broker")
                os._exit(EXIT_INTERRUPTED)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        outage = BrokerOutage(BrokerCheck(kafka, kafka.raw_topic), settings.broker_wait_s,
                              settle_s=settings.delivery_timeout_s + 5)
        report = replay(ingestor, lambda: open_source(args.replay, args.format), args.rate, args.loop,
                        should_stop=stop.is_set, progress=not args.no_progress,
                        flush_timeout_s=settings.delivery_timeout_s + 5, stop_timeout_s=settings.stop_timeout_s,
                        outage=outage)
        return 0 if report.complete else EXIT_NOT_DELIVERED
    finally:
        ingestor.producer.close(timeout=settings.stop_timeout_s)


if __name__ == "__main__":
    raise SystemExit(run_command("pulse ingest", add_arguments, run))

"""`pulse infer`: the batched ONNX inference consumer."""

from __future__ import annotations

import argparse
import logging
import signal

from models.runtime.bundle import resolve_bundle
from models.runtime.predictor import StanceModel
from services.common.command import run_command
from services.common.kafka import DeadLetters, ensure_topics, make_consumer, make_producer
from services.common.keys import Keys
from services.common.lag import GroupLagMonitor
from services.common.logging import configure_logging
from services.common.model_facts import ModelAnnouncer, ModelFacts
from services.common.ops import Probe, serve_ops
from services.common.redis_clients import sync_client
from services.common.settings import KafkaSettings, RedisSettings
from services.common.watchdog import ProgressWatchdog
from services.infer import metrics
from services.infer.app import InferLoop
from services.infer.batcher import Batcher
from services.infer.settings import InferSettings

log = logging.getLogger("services.infer")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", help="model bundle folder (overrides PULSE_INFER_BUNDLE)")


def run(args: argparse.Namespace) -> int:
    configure_logging()
    kafka, settings, redis_settings = KafkaSettings(), InferSettings(), RedisSettings()
    model = StanceModel(resolve_bundle(args.bundle or settings.bundle), settings.intra_op_threads,
                        settings.prefer_gpu, settings.precision, spin_wait=settings.spin_wait)
    probe, watchdog = Probe(), ProgressWatchdog(settings.stall_after_s)
    monitor = GroupLagMonitor(kafka, settings.group_id, kafka.raw_topic, metrics.LAG,
                              on_reading=lambda reading: watchdog.backlog(reading.total))
    probe.add_check(monitor.check)
    probe.add_check(watchdog.check)
    if settings.metrics_port:
        serve_ops("0.0.0.0", settings.metrics_port, probe)
    ensure_topics(kafka)
    monitor.start()
    # The API reads which model scores (and its error rates) from these announcements, never from a bundle.
    announcer = ModelAnnouncer(sync_client(redis_settings, socket_timeout=5, socket_connect_timeout=5),
                               Keys(redis_settings.key_prefix), ModelFacts.of(model.bundle.meta))
    announcer.start()
    loop = InferLoop(
        consumer=make_consumer(kafka, settings.group_id, [kafka.raw_topic], max_poll_records=settings.batch_size),
        producer=(producer := make_producer(kafka)),
        model=model,
        scored_topic=kafka.scored_topic,
        explain_per_batch=settings.explain_per_batch,
        occlude_per_batch=settings.occlude_per_batch,
        dead_letters=DeadLetters(producer, kafka.dlq_topic, stage="infer"),
        batcher=Batcher(settings.batch_size, settings.batch_wait_ms / 1000),
        probe=probe,
        watchdog=watchdog,
    )
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    signal.signal(signal.SIGINT, lambda *_: loop.stop())
    log.info("scoring %s → %s as group %s", kafka.raw_topic, kafka.scored_topic, settings.group_id)
    loop.run()
    monitor.stop()
    announcer.stop()
    producer.close(timeout=10)
    log.info("stopped cleanly")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command("pulse infer", add_arguments, run))

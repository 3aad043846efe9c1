"""`pulse aggregate`: the faust worker that keeps the stance counts in Redis."""

from __future__ import annotations

import argparse
import logging

from faust import Worker

from services.aggregate import metrics
from services.aggregate.agents import register_agents
from services.aggregate.app import create_app
from services.aggregate.settings import AggregateSettings
from services.common.command import run_command
from services.common.kafka import ensure_topics
from services.common.lag import GroupLagMonitor
from services.common.logging import configure_logging
from services.common.ops import Probe, serve_ops
from services.common.settings import KafkaSettings, RedisSettings
from services.common.watchdog import ProgressWatchdog

log = logging.getLogger("services.aggregate")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--loglevel", default="info", choices=["crit", "error", "warn", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    configure_logging()
    kafka, settings, redis_settings = KafkaSettings(), AggregateSettings(), RedisSettings()
    ensure_topics(kafka)
    probe, watchdog = Probe(), ProgressWatchdog(settings.stall_after_s)
    monitor = GroupLagMonitor(kafka, settings.app_id, kafka.scored_topic, metrics.LAG,
                              on_reading=lambda reading: watchdog.backlog(reading.total))
    probe.add_check(monitor.check)
    probe.add_check(watchdog.check)
    if settings.metrics_port:
        serve_ops("0.0.0.0", settings.metrics_port, probe)
    monitor.start()
    app = create_app(kafka, settings)
    register_agents(app, kafka, settings, redis_settings, probe, watchdog)
    # Worker installs SIGTERM/SIGINT handlers: it stops the agent, commits processed offsets and exits.
    worker = Worker(app, loglevel=args.loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command("pulse aggregate", add_arguments, run))

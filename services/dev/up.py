"""`pulse up`: the whole stack on one machine — broker, Redis, the four services and a replay.

Real servers: Tansu (Kafka protocol, its records on a local SeaweedFS object store under --var) and redis-server
(append-only, under --var) start as child processes unless PULSE_KAFKA_BOOTSTRAP / PULSE_REDIS_URL point at
existing ones. Each service runs as its own process, as in Kubernetes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import redis as redis_client

from models.runtime.bundle import Bundle, find_release_bundle, resolve_bundle
from services.aggregate.settings import AggregateSettings
from services.api.settings import ApiSettings
from services.common.command import CommandError, require_input_file
from services.common.kafka import ensure_topics
from services.common.logging import configure_logging
from services.common.settings import KafkaSettings, RedisSettings
from services.dev.object_store import Filer, StorePorts, start_object_store
from services.dev.retention import BrokerRetention, RetentionPolicy, committed_by_groups
from services.dev.servers import (
    LOCAL_KAFKA,
    ManagedProcess,
    free_port,
    start_broker,
    start_prometheus,
    start_redis,
    stop_process,
    wait_for_port,
)
from services.dev.settings import UpSettings
from services.dev.supervisor import RestartPolicy
from services.infer.settings import InferSettings
from services.ingest.live_main import LIVE_SOURCES
from services.ingest.settings import IngestSettings

log = logging.getLogger("pulse.up")
# How long a child may take to open its port: seconds on a quiet machine, far more on a busy one (imports of
# FastAPI, ONNX Runtime and faust compete for the cores); a bound, not an expectation.
STARTUP_WAIT_S = 120.0


def sample_file() -> Path:
    return Path(str(resources.files("services.dev") / "samples" / "sample_tweets.jsonl"))


DEMO_PREFIX = "pulse-demo"  # the Redis key prefix of the demo's counts


def demo_replay(data_dir: Path, var: Path) -> tuple[Path, str]:
    """The demo's file and source name: real held-out research tweets when the data folder has them
    (services/dev/demo_posts.py), else the templated sample."""
    from services.common.routing import Router
    from services.dev.demo_posts import SOURCE_NAME, write_demo

    out = var / "demo" / "research-tweets.jsonl"
    try:
        n = write_demo(data_dir, out, Router.load())
    except (OSError, ValueError) as exc:  # no data folder, or not the labelled sets
        log.warning("demo: no research tweets in %s (%s): replaying the templated sample instead; set "
                    "PULSE_DEMO_DATA to the shared data folder for real posts", data_dir, exc)
        return sample_file(), "demo"
    log.info("demo: %d real tweets from the held-out research sets in %s, replayed in waves", n, data_dir)
    return out, SOURCE_NAME


def delete_prefix(url: str, prefix: str) -> int:
    """Deletes every key under `prefix:` (SCAN, not KEYS: Redis keeps serving meanwhile) except the reviewers'
    labels (`prefix:labels:*`, the data most costly to make again); returns how many."""
    deleted = 0
    kept = f"{prefix}:labels:".encode()
    with redis_client.Redis.from_url(url) as client:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            if key.startswith(kept):
                continue
            batch.append(key)
            if len(batch) >= 1000:
                deleted += client.unlink(*batch)
                batch = []
        if batch:
            deleted += client.unlink(*batch)
    return deleted


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replay", default=None, help="JSON Lines or CSV to replay (default: the bundled sample)")
    p.add_argument("--rate", type=float, default=20.0,
                   help="replay rate in tweets/s (default 20; 0: as fast as ingest sends)")
    p.add_argument("--once", action="store_true", help="replay the file once instead of looping")
    p.add_argument("--no-replay", action="store_true", help="start the pipeline without a replay")
    p.add_argument("--source", choices=LIVE_SOURCES,
                   help="read a live source instead of replaying a file (its settings: README, Live sources)")
    p.add_argument("--fake-source", action="store_true",
                   help="with --source bluesky: a local Jetstream publishing the sample at --rate (no internet)")
    p.add_argument("--port", type=int, default=ApiSettings().port, help="API port (default PULSE_API_PORT, 8000)")
    p.add_argument("--prometheus", action="store_true",
                   help="also start Prometheus (Debian's package) scraping the four services, with the alert rules")
    p.add_argument("--prometheus-port", type=int, default=9090, help="Prometheus port (default 9090)")
    p.add_argument("--max-restarts", type=int, default=5,
                   help="restarts of one process within 5 minutes before pulse up calls it a crash loop (default 5)")
    p.add_argument("--reset", action="store_true",
                   help="delete the counts under the key prefix in use before starting (the demo's are apart anyway; "
                        "reviewers' labels are kept)")
    p.add_argument("--var", default=UpSettings().var_dir,
                   help="folder for logs, Redis data and a fallback model (default ./var)")


class Stack:
    """The child processes of `pulse up`, kept running as an orchestrator would.

    A worker that exits is restarted with backoff (ingest only when it failed: a finished `--once` replay stays
    finished); the broker and Redis stay up meanwhile. A local server that dies is restarted on its port with its
    data: Redis from its append-only file, Tansu and its object store from the objects on disk. More restarts of
    one process than the policy allows is a crash loop: `pulse up` gives up.
    """

    def __init__(self, var: Path, policy: RestartPolicy | None = None) -> None:
        self.var = var
        self.policy = policy or RestartPolicy()
        self.servers: dict[str, ManagedProcess] = {}
        self.server_starters: dict[str, Callable[[], ManagedProcess]] = {}
        self.services: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.due: dict[str, float] = {}  # name → when to restart it

    def start_server(self, name: str, start: Callable[[], ManagedProcess]) -> ManagedProcess:
        self.server_starters[name] = start
        self.servers[name] = start()
        self._write_pid(name, self.servers[name].proc.pid)
        return self.servers[name]

    def _write_pid(self, name: str, pid: int) -> None:
        run = self.var / "run"
        run.mkdir(parents=True, exist_ok=True)
        staged = run / f"{name}.pid.new"
        staged.write_text(f"{pid}\n")
        staged.replace(run / f"{name}.pid")  # whole or old: a reader never sees the file half-written

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.commands[name] = (args, env)
        logs = self.var / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{name}.log", "ab") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.services[name] = proc
        self._write_pid(name, proc.pid)

    def supervise(self) -> str | None:
        """Notices exits and restarts what is due; returns why `pulse up` must give up, or None."""
        now = time.monotonic()
        for name, server in self.servers.items():
            if server.proc.poll() is not None and name not in self.due and \
                    (why := self._schedule(name, f"{name} server exited with {server.proc.returncode}")):
                return why
        for name, proc in self.services.items():
            code = proc.poll()
            if code is not None and name not in self.due and not (name == "ingest" and code == 0):
                log_file = self.var / "logs" / f"{name}.log"
                if (why := self._schedule(name, f"{name} exited with {code} (see {log_file})")):
                    return why
        for name, when in list(self.due.items()):
            if now >= when:
                del self.due[name]
                self._restart(name)
        return None

    def _schedule(self, name: str, what: str) -> str | None:
        delay = self.policy.delay(name)
        if delay is None:
            return f"{what}; {self.policy.max_restarts} restarts in {self.policy.window_s:.0f} s: giving up"
        log.error("%s; restarting it in %.0f s (restart %d in the last %.0f s)", what, delay,
                  self.policy.restarts(name), self.policy.window_s)
        self.due[name] = time.monotonic() + delay
        return None

    def _restart(self, name: str) -> None:
        if name in self.server_starters:
            self.servers[name] = self.server_starters[name]()
            self._write_pid(name, self.servers[name].proc.pid)
            log.warning("%s server restarted at %s", name, self.servers[name].address.split("@")[-1])
            return
        args, env = self.commands[name]
        self.spawn(name, args, env)
        log.warning("%s restarted (pid %d)", name, self.services[name].pid)

    def stop(self) -> None:
        # Producers first, so consumers can drain what was produced; each gets SIGTERM and time to commit.
        for name in ("ingest", "infer", "aggregate", "api", "jetstream"):
            proc = self.services.get(name)
            if proc is not None and stop_process(proc, signal.SIGTERM, 20):
                log.warning("%s did not stop in 20 s; killed it", name)
        for server in reversed(list(self.servers.values())):
            server.stop()


def run(args: argparse.Namespace) -> int:
    configure_logging()
    if args.fake_source and args.source != "bluesky":
        raise CommandError("--fake-source goes with --source bluesky")
    if args.fake_source and args.rate <= 0:
        raise CommandError("--fake-source publishes at --rate: give one above 0")
    if args.replay:
        require_input_file(args.replay)
    log.info("starting Stance Pulse: the page will be at http://127.0.0.1:%d/ (Ctrl-C stops everything)", args.port)
    var = Path(args.var).resolve()
    bundle = bundle_to_serve(InferSettings().bundle, var / "fixture-bundle")
    log.info("model bundle %s (%s)", bundle.meta.version, bundle.path)
    stack = Stack(var, RestartPolicy(max_restarts=args.max_restarts))
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # Settings read once, here; the children get theirs through their environment, as pods would.
    kafka, redis, aggregate, up = KafkaSettings(), RedisSettings(), AggregateSettings(), UpSettings()
    retention: BrokerRetention | None = None
    try:
        env = {**os.environ, **LOCAL_KAFKA, "PULSE_INFER_BUNDLE": str(bundle.path)}
        if "data_dir" not in aggregate.model_fields_set:
            env["PULSE_AGGREGATE_DATA_DIR"] = str(var / "faust")
        if "bootstrap" not in kafka.model_fields_set:  # no broker given: start one
            kafka, retention = start_local_broker(stack, kafka, up)
            env["PULSE_KAFKA_BOOTSTRAP"] = kafka.bootstrap
        if "url" not in redis.model_fields_set:  # no Redis given: start one
            redis_port = free_port()
            server = stack.start_server("redis", lambda: start_redis(port=redis_port, data_dir=var / "redis",
                                                                     log_dir=var / "logs"))
            env["PULSE_REDIS_URL"] = server.address
        demo = not (args.source or args.replay or args.no_replay)
        if demo and "key_prefix" not in redis.model_fields_set:  # the demo's counts never mix into real ones
            env["PULSE_REDIS_KEY_PREFIX"], env["PULSE_REDIS_UPDATES_CHANNEL"] = DEMO_PREFIX, f"{DEMO_PREFIX}:updates"
        prefix = env.get("PULSE_REDIS_KEY_PREFIX", redis.key_prefix)
        if args.reset:
            log.info("--reset: deleted %d keys under %s:", delete_prefix(env.get("PULSE_REDIS_URL", redis.dsn()),
                                                                          prefix), prefix)
        ensure_topics(kafka)  # before any client: a topic auto-created by a producer could get other partitions
        if retention is not None:
            retention.start()
        stack.spawn("infer", ["services.infer"], env)
        stack.spawn("aggregate", ["services.aggregate"], env)
        stack.spawn("api", ["services.api", "--port", str(args.port)], env)
        wait_for_port(args.port, timeout=STARTUP_WAIT_S, proc=stack.services["api"])
        log.info("the page is up: http://127.0.0.1:%d/  (API: /docs)", args.port)
        if args.prometheus:
            prometheus = stack.start_server("prometheus", lambda: start_prometheus(
                scrape_targets(), var / "prometheus", args.prometheus_port, log_dir=var / "logs"))
            log.info("Prometheus: %s/alerts, %s/graph", prometheus.address, prometheus.address)
        if args.source:
            if args.fake_source:
                jetstream_port = free_port()
                stack.spawn("jetstream", ["services.dev.fake_sources", "jetstream", "--port", str(jetstream_port),
                                          "--rate", str(args.rate)], env)
                wait_for_port(jetstream_port, timeout=STARTUP_WAIT_S, proc=stack.services["jetstream"])
                env["PULSE_INGEST_BLUESKY_HOSTS"] = f"ws://127.0.0.1:{jetstream_port}"
            stack.spawn("ingest", ["services.ingest", "--source", args.source], env)
        elif not args.no_replay:
            file, source_name = demo_replay(Path(up.demo_data), var) if demo else (Path(args.replay), "")
            pace = ["--rate", str(args.rate)] if args.rate > 0 else []  # none: flat out
            replay = ["services.ingest", "--replay", str(file), *pace, "--no-progress"] + (
                [] if args.once else ["--loop"]) + (["--source-name", source_name] if source_name else [])
            stack.spawn("ingest", replay, env)
        log.info("pids in %s; logs in %s", var / "run", var / "logs")
        next_report = time.monotonic() + 10
        while not stopping:
            problem = stack.supervise()
            if problem:
                log.error(problem)
                return 1
            if time.monotonic() >= next_report:
                next_report += 10
                _report(args.port)
            time.sleep(0.2)
        return 0
    finally:
        log.info("stopping…")
        if retention is not None:
            retention.stop()
        stack.stop()
        log.info("stopped")


def start_local_broker(stack: Stack, kafka: KafkaSettings,
                       up: UpSettings) -> tuple[KafkaSettings, BrokerRetention | None]:
    """Tansu on a SeaweedFS object store under var/broker, both supervised and restarted on the same ports with
    the same data, and the retention that bounds them (or, with broker_storage "memory", Tansu alone, unbounded).
    Returns the settings that point at it."""
    if up.broker_storage == "memory":
        kafka_port = free_port()
        broker = stack.start_server("kafka", lambda: start_broker(port=kafka_port, log_dir=stack.var / "logs"))
        return kafka.model_copy(update={"bootstrap": broker.address}), None
    ports, (kafka_port,) = StorePorts.pick(extra=1)
    store = stack.start_server("objects", lambda: start_object_store(stack.var / "broker", ports, stack.var / "logs"))
    broker = stack.start_server("kafka", lambda: start_broker(port=kafka_port, log_dir=stack.var / "logs",
                                                              object_store=store.address))
    kafka = kafka.model_copy(update={"bootstrap": broker.address})
    policy = RetentionPolicy(up.broker_retention_s, up.broker_retention_bytes, up.broker_retention_batches)
    topics = {t: kafka.partitions for t in (kafka.raw_topic, kafka.scored_topic, kafka.dlq_topic)}
    retention = BrokerRetention(Filer(ports.filer), topics, read=(kafka.raw_topic, kafka.scored_topic),
                                committed=lambda: committed_by_groups(kafka), policy=policy,
                                every_s=up.broker_retention_check_s)
    return kafka, retention


def bundle_to_serve(configured: str, fallback_dir: Path) -> Bundle:
    """The configured bundle, else the newest release, else (a checkout without one) a small bundle trained in
    seconds from the fixture tweets: demo quality only, and it needs the train extra (torch)."""
    if configured or find_release_bundle() is not None:
        return resolve_bundle(configured)
    log.warning("no model bundle shipped: training a small one from the fixture tweets into %s (demo quality only)",
                fallback_dir)
    from models.training.fixture_bundle import build_fixture_bundle  # torch: only for a checkout without a release

    return build_fixture_bundle(fallback_dir)


def scrape_targets() -> dict[str, str]:
    """Job name → address of each service's /metrics, from the same settings the services read."""
    ports = {"ingest": IngestSettings().metrics_port, "infer": InferSettings().metrics_port,
             "aggregate": AggregateSettings().metrics_port, "api": ApiSettings().metrics_port}
    return {job: f"127.0.0.1:{port}" for job, port in ports.items()}


def _report(port: int) -> None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/pulse?window=all", timeout=2) as r:
            snap = json.load(r)
        parts = [f"{p}: {c['total']} (net {c['net'] if c['net'] is not None else '–'})"
                 for p, c in snap["parties"].items()]
        log.info("counted so far — %s", "; ".join(parts))
    except Exception as exc:
        log.debug("report failed: %s", exc)

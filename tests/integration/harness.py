"""Runs the real services as separate processes against the real broker and Redis, isolated per test; and the
durable local broker (Tansu on its object store) for the tests that kill it.

Each Pipeline gets its own topics, consumer groups, Redis key prefix and ports, so tests never share state.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import redis
from kafka import KafkaConsumer, TopicPartition

from models.runtime.bundle import Bundle, resolve_bundle
from models.runtime.predictor import StanceModel
from services.common.kafka import ensure_topics
from services.common.keys import Keys
from services.common.model_facts import ModelFacts, announce
from services.common.routing import Router
from services.common.schemas import UNRATED
from services.common.settings import KafkaSettings
from services.dev.object_store import StorePorts, start_object_store
from services.dev.servers import TEST_KAFKA, ManagedProcess, free_port, start_broker, wait_for_port
from services.dev.up import sample_file

MODULES = {"infer": "services.infer", "aggregate": "services.aggregate", "api": "services.api",
           "ingest": "services.ingest"}


def wait_until(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}; last value {last!r}")


class Pipeline:
    def __init__(self, bootstrap: str, redis_url: str, bundle: Bundle, workdir: Path, **extra_env: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.workdir = workdir
        self.api_port = free_port()
        self.metrics_ports = {"infer": free_port(), "aggregate": free_port(), "api": free_port()}
        self.env = {
            **os.environ,
            "PULSE_KAFKA_BOOTSTRAP": bootstrap,
            "PULSE_KAFKA_RAW_TOPIC": f"t{tag}.raw",
            "PULSE_KAFKA_SCORED_TOPIC": f"t{tag}.scored",
            "PULSE_KAFKA_DLQ_TOPIC": f"t{tag}.dlq",
            **TEST_KAFKA,  # short group timeouts: Tansu holds a join for the whole rebalance timeout
            "PULSE_REDIS_URL": redis_url,
            "PULSE_REDIS_KEY_PREFIX": f"p{tag}",
            "PULSE_REDIS_UPDATES_CHANNEL": f"p{tag}:updates",
            "PULSE_INFER_BUNDLE": str(bundle.path),
            "PULSE_INFER_GROUP_ID": f"infer-{tag}",
            "PULSE_INFER_BATCH_WAIT_MS": "20",
            "PULSE_INFER_INTRA_OP_THREADS": "1",
            "PULSE_INFER_METRICS_PORT": str(self.metrics_ports["infer"]),
            "PULSE_AGGREGATE_APP_ID": f"agg-{tag}",
            "PULSE_AGGREGATE_DATA_DIR": str(workdir / "faust"),
            "PULSE_AGGREGATE_METRICS_PORT": str(self.metrics_ports["aggregate"]),
            "PULSE_AGGREGATE_BATCH_WITHIN_S": "0.05",
            "PULSE_INGEST_METRICS_PORT": "0",
            "PULSE_API_PORT": str(self.api_port),
            "PULSE_API_METRICS_PORT": str(self.metrics_ports["api"]),
            "PULSE_API_STREAM_THROTTLE_S": "0.1",
            **extra_env,
        }
        self.kafka = KafkaSettings(**{  # the same settings the services read from the environment
            name.removeprefix("PULSE_KAFKA_").lower(): value for name, value in self.env.items()
            if name.startswith("PULSE_KAFKA_")})
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.bundle = bundle
        ensure_topics(self.kafka)

    # processes -------------------------------------------------------------------------------------------
    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(self.workdir / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen([sys.executable, "-m", MODULES[name], *args], env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT)
        self.procs[name] = proc
        if name == "api":
            wait_for_port(self.api_port, timeout=30, proc=proc)
        return proc

    def start_replica(self, name: str, replica: int) -> subprocess.Popen[bytes]:
        """Another process of a service, `name-replica`, in the same group, with a metrics port of its own (the
        `metric` and `probe` of that name read it)."""
        replica_name = f"{name}-{replica}"
        self.metrics_ports[replica_name] = port = free_port()
        env = {**self.env, f"PULSE_{name.upper()}_METRICS_PORT": str(port)}
        with open(self.workdir / f"{replica_name}.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", MODULES[name]], env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        self.procs[replica_name] = proc
        return proc

    def start_all(self) -> None:
        for name in ("infer", "aggregate", "api"):
            self.start(name)

    def ingest(self, path: Path, *args: str, expect: int = 0) -> str:
        """Replays a file with `pulse ingest` and returns its log; asserts its exit code."""
        out = subprocess.run([sys.executable, "-m", "services.ingest", "--replay", str(path), "--no-progress", *args],
                             env=self.env, capture_output=True, timeout=120)
        assert out.returncode == expect, out.stderr.decode()[-3000:]
        return out.stderr.decode()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        proc = self.procs[name]
        proc.send_signal(sig)
        return proc.wait(30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    # observation -----------------------------------------------------------------------------------------
    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.api_port}{path}", params=params, timeout=10)

    def pulse(self, window: str = "all") -> dict[str, Any]:
        r = self.get("/v1/pulse", window=window)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def metric(self, service: str, name: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_ports[service]}/metrics", timeout=5).text
        return sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith(name) and not line.startswith("#"))

    def probe(self, service: str, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.metrics_ports[service]}{path}", timeout=5)

    def wait_for_counts(self, expected: dict[str, Counter[str]], timeout: float = 90.0) -> dict[str, Any]:
        want = {t: (rated(c), c[UNRATED]) for t, c in expected.items()}

        def totals_reached() -> dict[str, Any] | None:
            snap = self.pulse()
            got = {t: (snap["targets"].get(t, {}).get("total", 0), snap["targets"].get(t, {}).get("unrated", 0))
                   for t in want}
            return snap if got == want else None

        return wait_until(totals_reached, timeout, what=f"target totals {want}")  # type: ignore[no-any-return]

    def dead_letters(self, expected: int, timeout: float = 30.0) -> list[tuple[bytes, dict[str, bytes]]]:
        return read_topic(self.kafka, self.kafka.dlq_topic, expected, timeout)


def wait_for_records(kafka: KafkaSettings, topic: str, at_least: int = 1, timeout: float = 60.0) -> int:
    """Waits until the topic holds `at_least` records (a producer is really sending, however slowly it started)."""
    consumer = KafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in range(kafka.partitions)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        seen, deadline = 0, time.monotonic() + timeout
        while seen < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(f"{seen} records on {topic} after {timeout} s, not {at_least}")
            seen += sum(len(records) for records in consumer.poll(200).values())
        return seen
    finally:
        consumer.close()


def read_topic(kafka: KafkaSettings, topic: str, expected: int,
               timeout: float = 30.0) -> list[tuple[bytes, dict[str, bytes]]]:
    """Every (value, headers) on the topic: waits for `expected` of them, then a second for any more."""
    consumer = KafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in range(kafka.partitions)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        got: list[tuple[bytes, dict[str, bytes]]] = []
        deadline = time.monotonic() + timeout
        while len(got) < expected and time.monotonic() < deadline:
            for records in consumer.poll(500).values():
                got += [(r.value, dict(r.headers)) for r in records]
        time.sleep(1.0)  # and nothing more arrives
        for records in consumer.poll(500).values():
            got += [(r.value, dict(r.headers)) for r in records]
        return got
    finally:
        consumer.close()




class DurableBroker:
    def __init__(self, root: Path) -> None:
        self.ports, (self.port,) = StorePorts.pick(extra=1)
        self.root = root
        self.store = start_object_store(root / "objects", self.ports, root / "logs")
        self.broker = self._start_broker()

    def _start_broker(self) -> ManagedProcess:
        return start_broker(self.port, self.root / "logs", object_store=self.store.address)

    def kill9_broker(self, restart: bool = True) -> None:
        self.broker.proc.kill()
        self.broker.proc.wait()
        if restart:
            self.restart_broker()

    def restart_broker(self) -> None:
        """The broker again, on the same port and the same stored data."""
        self.broker = self._start_broker()

    def kill9_store(self) -> None:
        self.store.proc.kill()
        self.store.proc.wait()
        self.store = start_object_store(self.root / "objects", self.ports, self.root / "logs")

    def stop(self) -> None:
        self.broker.stop()
        self.store.stop()


def write_jsonl(path: Path, records: list[dict[str, Any]], extra_lines: list[bytes] = ()) -> Path:  # type: ignore[assignment]
    with path.open("wb") as fh:
        for rec in records:
            fh.write(json.dumps(rec).encode() + b"\n")
        for line in extra_lines:
            fh.write(line + b"\n")
    return path


def expected_counts(bundle: Bundle, records: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """target → label counts that the pipeline must produce: routing, then the same model, offline; routes to
    targets the model does not know count as UNRATED."""
    router = Router.load()
    routed = [(r["text"], route.target) for r in records for route in router.route(r["text"])]
    model = StanceModel(bundle, intra_op_threads=1, prefer_gpu=False)
    pairs = [(text, t) for text, t in routed if t in model.targets]
    probs = model.predict([p[0] for p in pairs], [p[1] for p in pairs])
    out: dict[str, Counter[str]] = {}
    decided = model.decide(probs, [t for _, t in pairs])
    for (_, target), label in zip(pairs, decided, strict=True):
        out.setdefault(target, Counter())[model.labels[int(label)]] += 1
    for _, target in routed:
        if target not in model.targets:
            out.setdefault(target, Counter())[UNRATED] += 1
    return out


def expected_posts(records: list[dict[str, Any]]) -> dict[str, int]:
    """party → distinct posts about it (a post about two of its targets once), rated or not."""
    router = Router.load()
    return dict(Counter(party for r in records for party in {route.party for route in router.route(r["text"])}))


def rated(counts: Counter[str]) -> int:
    """What a snapshot's `total` counts: the rated posts."""
    return counts["FAVOR"] + counts["AGAINST"] + counts["NONE"]


def party_totals(expected: dict[str, Counter[str]]) -> dict[str, Counter[str]]:
    parties = Router.load().targets
    out: dict[str, Counter[str]] = {}
    for target, counts in expected.items():
        out.setdefault(parties[target], Counter()).update(counts)
    return out


def sample(n: int, id_prefix: str = "") -> list[dict[str, Any]]:
    lines = sample_file().read_text().splitlines()[:n]
    return [{**json.loads(line), **({"id": id_prefix + json.loads(line)["id"]} if id_prefix else {})}
            for line in lines]


def assert_exact(snap: dict[str, Any], expected: dict[str, Counter[str]]) -> None:
    for target, counts in expected.items():
        got = snap["targets"][target]
        assert (got["favor"], got["against"], got["none"], got["unrated"]) == (
            counts["FAVOR"], counts["AGAINST"], counts["NONE"], counts[UNRATED]), target
    for party, counts in party_totals(expected).items():
        got = snap["parties"][party]
        assert (got["favor"], got["against"], got["none"], got["unrated"]) == (
            counts["FAVOR"], counts["AGAINST"], counts["NONE"], counts[UNRATED]), party
        total_fa = counts["FAVOR"] + counts["AGAINST"]
        assert got["net"] == (round((counts["FAVOR"] - counts["AGAINST"]) / total_fa, 4) if total_fa else None)


REPORT = re.compile(r"replay: (?P<read>\d+) read, (?P<routed>\d+) routed, (?P<unrouted>\d+) unrouted, "
                    r"(?P<dead>\d+) dead-lettered; broker acknowledged (?P<acknowledged>\d+), failed (?P<failed>\d+), "
                    r"unacknowledged (?P<unacknowledged>\d+)")


def replay_report(log: str) -> dict[str, int]:
    """The figures of the last summary line `pulse ingest --replay` logged."""
    found = list(REPORT.finditer(log))
    assert found, f"no replay summary in the log: {log[-2000:]}"
    figures = {k: int(v) for k, v in found[-1].groupdict().items()}
    figures["dead-lettered"] = figures.pop("dead")
    return figures


@contextlib.contextmanager
def running_api(redis_url: str, workdir: Path, prefix: str = "", **extra_env: str) -> Iterator[tuple[str, str]]:
    """`pulse api` on its own Redis key prefix (or `prefix`) and port, with the shipped model announced there as an
    infer worker would; yields (base URL, key prefix). Its metrics are on the port in PULSE_API_METRICS_PORT of
    extra_env, else off."""
    prefix = prefix or f"api{uuid.uuid4().hex[:8]}"
    port = free_port()
    with redis.Redis.from_url(redis_url) as client:
        announce(client, Keys(prefix), ModelFacts.of(resolve_bundle("").meta), time.time())
    env = {**os.environ, "PULSE_REDIS_URL": redis_url, "PULSE_REDIS_KEY_PREFIX": prefix,
           "PULSE_REDIS_UPDATES_CHANNEL": f"{prefix}:updates", "PULSE_API_PORT": str(port),
           "PULSE_API_METRICS_PORT": "0", **extra_env}
    with open(workdir / "api.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", MODULES["api"]], env=env, stdout=log, stderr=log)
    try:
        wait_for_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}", prefix
    finally:
        proc.terminate()
        proc.wait(10)

"""`pulse bench --infer`: the infer service draining a backlog, beside the model alone, with 1…N replicas.

What it answers: how close infer (poll, decode, tokenise, score, explain, serialise, produce, acknowledge,
commit) comes to the model's own speed, and how its throughput grows with replicas. Nothing else competes for the
CPU: the raw topic is filled first (ingest, flat out, from the bundled sample) on a broker that keeps its records
in memory; then each replica count runs against the same records, with a group and an output topic of its own.
Throughput is measured once every replica has scored its first batch (groups joining and rebalancing are a
start-up cost) until every record is scored and acknowledged.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer
from tqdm import tqdm

from services.common.kafka import ensure_topics
from services.common.settings import KafkaSettings
from services.dev.e2e_bench import BATCH, gauge_sum, model_only, pairs_of_sample, scrape
from services.dev.servers import LOCAL_KAFKA, free_ports, start_broker, start_redis, stop_process, wait_for_port
from services.dev.soak import process_cpu_seconds, write_replay

RAW_TOPIC = "bench.raw"
PINNED = "; each replica on a core of its own"


@dataclass(frozen=True)
class Drain:
    replicas: int
    posts: int  # raw records committed in the measured stretch
    seconds: float
    started_s: float  # from launch until every replica had scored a batch
    pairs_per_post: float
    cpu_s: float  # the replicas' CPU time (every thread) in the measured stretch

    @property
    def cpu_ms_per_1000_pairs(self) -> float:
        pairs = self.posts * self.pairs_per_post
        return 1e6 * self.cpu_s / pairs if pairs else float("nan")

    @property
    def pairs_s(self) -> float:
        return self.posts * self.pairs_per_post / self.seconds if self.seconds > 0 else float("nan")


def true_ends(kafka: KafkaSettings, topic: str) -> dict[int, int]:
    """Partition → the offset after its last record, by reading the topic: Tansu answers a "latest offset" request
    with its last batch's first offset, which would end a drain before the last batch is done."""
    consumer = KafkaConsumer(topic, **kafka.client_kwargs(), auto_offset_reset="earliest", consumer_timeout_ms=3000)
    ends: dict[int, int] = {}
    try:
        for rec in consumer:
            ends[rec.partition] = max(ends.get(rec.partition, 0), rec.offset + 1)
    finally:
        consumer.close()
    return ends


def committed(admin: KafkaAdminClient, group: str, topic: str) -> int:
    """Records of `topic` the group has committed past (its records scored and acknowledged)."""
    offsets = admin.list_group_offsets(group).get(group, {})
    return sum(o.offset for tp, o in offsets.items() if tp.topic == topic and o.offset >= 0)


def fill_raw_topic(kafka: KafkaSettings, posts: int, folder: Path, env: dict[str, str]) -> tuple[int, int]:
    """Ingests `posts` posts of the sample into the raw topic, flat out; returns the routed posts there and the
    (post, target) pairs infer will produce for them."""
    replay, want, _ = write_replay(folder / "posts.jsonl", posts)
    with open(folder / "ingest.log", "wb") as log:
        subprocess.run([sys.executable, "-m", "services.ingest", "--replay", str(replay), "--no-progress"],
                       env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    return sum(true_ends(kafka, kafka.raw_topic).values()), sum(want.values())


def drain(replicas: int, threads: int, posts: int, pairs_per_post: float, env: dict[str, str],
          kafka: KafkaSettings, timeout_s: float, logs: Path, pin: bool = False) -> Drain:
    """`replicas` infer processes (each `threads` ONNX threads) score the whole raw topic into a topic of their
    own, as a group of their own; done when the group has committed every raw record. `pin`: replica i runs on
    core i only."""
    scored, group = f"bench.scored.r{replicas}", f"bench-infer-r{replicas}"
    ensure_topics(kafka, [scored])
    ports = free_ports(replicas)
    base = {**env, "PULSE_KAFKA_SCORED_TOPIC": scored, "PULSE_INFER_GROUP_ID": group,
            "PULSE_INFER_INTRA_OP_THREADS": str(threads)}
    procs = []
    for i, port in enumerate(ports):
        with open(logs / f"infer-r{replicas}-{i}.log", "wb") as log:
            procs.append(subprocess.Popen([sys.executable, "-m", "services.infer"],
                                          env={**base, "PULSE_INFER_METRICS_PORT": str(port)},
                                          stdout=log, stderr=subprocess.STDOUT,
                                          preexec_fn=_on_core(i) if pin else None))
    admin = KafkaAdminClient(**kafka.client_kwargs())
    launched = time.monotonic()
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_for_port(port, timeout=120, proc=proc)
        deadline = launched + timeout_s
        start: tuple[float, int] | None = None
        cpu_at_start = 0.0
        with tqdm(total=posts, unit="post", desc=f"{replicas} replica(s)") as bar:
            while True:
                done = committed(admin, group, kafka.raw_topic)
                bar.update(done - bar.n)
                if start is None and all(gauge_sum(scrape(p), "pulse_infer_tweets_consumed") > 0
                                         for p in ports):
                    start = (time.monotonic(), done)
                    cpu_at_start = sum(process_cpu_seconds(p.pid) for p in procs)
                if done >= posts:
                    break
                if any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"an infer replica exited: see {logs}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{replicas} replica(s) did not score {posts:,} posts in {timeout_s:g} s")
                time.sleep(0.1)
        end = time.monotonic()
        cpu_at_end = sum(process_cpu_seconds(p.pid) for p in procs)
        if start is None:  # all scored before the last replica's first batch: nothing measured in parallel
            raise RuntimeError("the backlog was gone before every replica scored: give more --posts")
        return Drain(replicas, done - start[1], end - start[0], start[0] - launched, pairs_per_post,
                     cpu_at_end - cpu_at_start)
    finally:
        admin.close()
        for proc in procs:
            stop_process(proc, signal.SIGTERM, 30)


def _on_core(index: int) -> Callable[[], None]:
    core = sorted(os.sched_getaffinity(0))[index % len(os.sched_getaffinity(0))]
    return lambda: os.sched_setaffinity(0, {core})


def run(args: argparse.Namespace) -> int:
    counts = sorted({int(r) for r in args.replicas.split(",")})
    threads = args.threads
    model = model_only(pairs_of_sample(), args.seconds, threads=threads)
    with tempfile.TemporaryDirectory(prefix="pulse-bench-infer-") as tmp:
        folder = Path(tmp)
        broker_port, redis_port = free_ports(2)
        broker = start_broker(port=broker_port, log_dir=folder)
        redis = start_redis(port=redis_port, log_dir=folder)
        partitions = args.partitions or max(counts) * 3
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}, **LOCAL_KAFKA,
               "PULSE_KAFKA_BOOTSTRAP": broker.address, "PULSE_KAFKA_RAW_TOPIC": RAW_TOPIC,
               "PULSE_KAFKA_PARTITIONS": str(partitions), "PULSE_REDIS_URL": redis.address}
        kafka = KafkaSettings(bootstrap=broker.address, raw_topic=RAW_TOPIC, partitions=partitions,
                              rebalance_timeout_ms=int(LOCAL_KAFKA["PULSE_KAFKA_REBALANCE_TIMEOUT_MS"]))
        try:
            ensure_topics(kafka, [RAW_TOPIC, kafka.dlq_topic])
            posts, pairs = fill_raw_topic(kafka, args.posts, folder, env)
            drains = [drain(n, threads, posts, pairs / posts, env, kafka, args.timeout, folder, args.pin)
                      for n in counts]
        finally:
            broker.stop()
            redis.stop()
    per_thread = "all cores" if threads == 0 else f"{threads} thread{'s' if threads > 1 else ''}"
    print(f"\n`pulse bench --infer --posts {args.posts} --replicas {args.replicas} --threads {threads} "  # noqa: T201
          f"--seconds {args.seconds:g}{' --pin' if args.pin else ''}` ({os.cpu_count()} cores; {partitions} "
          f"partitions; model threads: {per_thread} per replica{PINNED if args.pin else ''})\n")
    one = drains[0].pairs_s / drains[0].replicas
    rows = [(f"model alone, batch {BATCH}, {per_thread}", f"{model['alone']:,.0f} pairs/s", ""),
            (f"model + infer's explanations, batch {BATCH}, {per_thread}", f"{model['explained']:,.0f} pairs/s", "")]
    for d in drains:
        rows.append((f"infer, {d.replicas} replica{'s' if d.replicas > 1 else ''} ({d.posts:,} posts in "
                     f"{d.seconds:.1f} s, after {d.started_s:.0f} s starting)", f"{d.pairs_s:,.0f} pairs/s",
                     f"{d.pairs_s / model['explained']:.0%} of the model + explanations, "
                     f"{d.pairs_s / model['alone']:.0%} of the model alone; {d.pairs_s / one:.2f}× "
                     f"one replica; CPU {d.cpu_ms_per_1000_pairs:,.0f} ms per 1,000 pairs "
                     f"({d.cpu_s / d.seconds:.2f} cores)"))
    print("| measure | value | ratio |\n|---|---:|---|")  # noqa: T201
    for name, value, ratio in rows:
        print(f"| {name} | {value} | {ratio} |")  # noqa: T201
    return 0

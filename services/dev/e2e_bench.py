"""`pulse bench --e2e`: the whole local pipeline beside the model alone, in one run on one machine.

First the model alone (the served bundle at batch 256, without and with infer's explanations) on the pairs the
replay will produce; then a fresh `pulse up` replays `--posts` posts of the bundled sample at `--rate` (0: as fast
as ingest sends) until every (post, target) pair is counted. Reported: pairs/s end to end (first count to the last)
against the model's, the most consumer lag seen in infer's and aggregate's groups, and the ingest → counted latency
percentiles from the aggregator's histogram. One Markdown table, with the command that made it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from tqdm import tqdm

from models.runtime.bundle import resolve_bundle
from models.runtime.predictor import StanceModel
from services.common.routing import Router
from services.dev.servers import stop_process, wait_for_port
from services.dev.soak import counted, cpu_seconds, launch_up, write_replay
from services.dev.up import sample_file

BATCH = 256
WARMUP_S = 10.0  # groups joining and the backlog built meanwhile: a start-up cost, not the pipeline's pace
LATENCY = "pulse_aggregate_end_to_end_seconds"
LEGS = {"ingested → scored (raw topic + infer)": "ingested_to_scored",
        "scored → counted (scored topic + aggregate)": "scored_to_counted"}
QUANTILES = (0.5, 0.95, 0.99)
STAGES = {"infer batch size (pairs)": "pulse_infer_batch_size",
          "infer batch: score, produce, acknowledge, commit (s)": "pulse_infer_batch_seconds",
          "of which tokenise + model (s)": "pulse_infer_inference_seconds"}


@dataclass(frozen=True)
class Run:
    pairs: int
    seconds: float  # first pair counted → every pair counted
    max_lag: dict[str, float]
    latency: dict[float, float]  # quantile → seconds, after the warm-up
    latency_whole_run: dict[float, float]  # start-up included
    legs: dict[str, dict[float, float]]  # the same in the pipeline's two legs, after the warm-up
    exact: bool
    warm: bool  # whether the run outlasted the warm-up (else every figure is the whole run's)
    cpu_ms_per_1k: dict[str, float]  # process → CPU ms per 1,000 pairs counted after the warm-up
    stages: dict[str, dict[float, float]]  # infer's histograms: what a batch costs, and what of it is the model


def quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile: `buckets` are (upper bound, cumulative count), +Inf last; linear within the
    bucket that holds the rank."""
    total = buckets[-1][1]
    if total <= 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if upper == float("inf"):
                return lower  # beyond the last finite bucket: its bound, as Prometheus does
            return lower + (upper - lower) * (rank - below) / max(cumulative - below, 1e-12)
        lower, below = upper, cumulative
    return lower


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def gauge_sum(text: str, name: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) if f.name == name for s in f.samples)


def histogram(text: str, name: str, **labels: str) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of one histogram, or of its series with `labels`."""
    for family in text_string_to_metric_families(text):
        if family.name == name:
            return sorted((float(s.labels["le"]), s.value) for s in family.samples
                          if s.name == f"{name}_bucket" and all(s.labels.get(k) == v for k, v in labels.items()))
    return []


def since(now: list[tuple[float, float]], then: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The buckets of what a histogram observed between two scrapes (cumulative counts subtracted)."""
    before = dict(then)
    return [(upper, count - before.get(upper, 0.0)) for upper, count in now]


def pairs_of_sample() -> list[tuple[str, str]]:
    """The (text, target) pairs the bundled sample routes to: what a replay of it makes infer score."""
    router = Router.load()
    return [(text, r.target) for text in _texts() for r in router.route(text)]


def model_only(pairs: list[tuple[str, str]], seconds: float, threads: int = 0) -> dict[str, float]:
    """Pairs/s of the served bundle at batch 256 with `threads` ONNX threads (0: all cores), alone and with infer's
    default explanations (16 n-gram, 1 occlusion per batch)."""
    from services.dev.bench import measure

    model = StanceModel(resolve_bundle(), intra_op_threads=threads, prefer_gpu=False)
    texts, targets = [t for t, _ in pairs], [g for _, g in pairs]
    while len(texts) < 4 * BATCH:
        texts, targets = texts * 2, targets * 2
    return {"alone": measure(model, texts, targets, BATCH, seconds)[0],
            "explained": measure(model, texts, targets, BATCH, seconds, (16, 1))[0]}


def run_pipeline(args: argparse.Namespace, var: Path) -> Run:
    subprocess.run(["rm", "-rf", str(var)], check=True)
    var.mkdir(parents=True)
    replay, want, _ = write_replay(var / "e2e.jsonl", args.posts)
    total = sum(want.values())
    stack = launch_up(replay, args.rate, var, args.set)
    up, port = stack.proc, stack.port
    ports = {"infer": stack.metrics["infer"], "aggregate": stack.metrics["aggregate"]}
    max_lag = {"infer": 0.0, "aggregate": 0.0}
    first = done = None
    baseline: dict[str, str] = {}  # the scrapes when the warm-up ended
    cpu_base: dict[str, float] = {}
    cpu_last: dict[str, float] = {}  # the latest reading of each process (ingest's ends when its replay does)
    counted_base = 0
    try:
        wait_for_port(port, timeout=180, proc=up)
        deadline = time.monotonic() + args.timeout
        with tqdm(total=total, unit="pair", desc="counted") as bar:
            while time.monotonic() < deadline and up.poll() is None:
                time.sleep(0.5)
                got = counted(port)
                if got is None:
                    continue
                n = sum(got.values())
                if n and first is None:
                    first = time.monotonic()
                scrapes = {name: scrape(p) for name, p in ports.items()}
                cpu_last.update(cpu_seconds(var))
                if first is not None and not baseline and time.monotonic() >= first + args.warmup:
                    baseline, cpu_base, counted_base = scrapes, dict(cpu_last), n
                if baseline:  # lag while starting (groups joining, the backlog that built meanwhile) is not kept
                    for name, text in scrapes.items():
                        max_lag[name] = max(max_lag[name], gauge_sum(text, f"pulse_{name}_consumer_lag"))
                bar.update(n - bar.n)
                if got == want:
                    done = time.monotonic()
                    break
        final = {name: scrape(p) for name, p in ports.items()}
        running = cpu_seconds(var)
        cpu_last.update(running)
    finally:
        stop_process(up, signal.SIGINT, 60)
    base = baseline or {name: "" for name in ports}  # a run shorter than the warm-up: everything

    def percentiles(service: str, metric: str, **labels: str) -> dict[float, float]:
        buckets = since(histogram(final[service], metric, **labels), histogram(base[service], metric, **labels))
        return {q: quantile(q, buckets) for q in QUANTILES} if buckets else {}

    whole = histogram(final["aggregate"], LATENCY)
    seconds = (done or time.monotonic()) - (first or time.monotonic())
    return Run(pairs=total, seconds=seconds, max_lag=max_lag, latency=percentiles("aggregate", LATENCY),
               latency_whole_run={q: quantile(q, whole) for q in QUANTILES} if whole else {},
               legs={name: percentiles("aggregate", "pulse_aggregate_stage_seconds", leg=leg)
                     for name, leg in LEGS.items()},
               exact=done is not None, warm=bool(baseline),
               cpu_ms_per_1k=cpu_per_pairs(cpu_last, cpu_base, running, total, counted_base),
               stages={name: percentiles("infer", metric) for name, metric in STAGES.items()})


def cpu_per_pairs(last: dict[str, float], base: dict[str, float], running: dict[str, float], total: int,
                  counted_base: int) -> dict[str, float]:
    """CPU ms per 1,000 pairs of each process: over the pairs counted after the warm-up for those still running at
    the end; over all of them for one that finished its work and exited (ingest, once its replay is sent)."""
    return {name: 1e6 * (cpu - base.get(name, 0.0)) / max(1, total - counted_base) if name in running
            else 1e6 * cpu / max(1, total) for name, cpu in last.items()}


def run(args: argparse.Namespace) -> int:
    model = model_only(pairs_of_sample(), args.seconds)
    e2e = run_pipeline(args, Path(args.var).resolve())
    rate = "as fast as ingest sends" if args.rate <= 0 else f"{args.rate:g} posts/s offered"
    pairs_s = e2e.pairs / e2e.seconds if e2e.seconds > 0 else float("nan")
    settings = "".join(f" --set {s}" for s in args.set)
    print(f"\n`pulse bench --e2e --posts {args.posts} --rate {args.rate:g} --seconds {args.seconds:g}"  # noqa: T201
          f"{'' if args.warmup == WARMUP_S else f' --warmup {args.warmup:g}'}{settings}` ({rate}; "
          f"{os.cpu_count()} cores)\n")
    # CPU: after the warm-up for what still runs at the end; a process that finished (ingest) over its whole run
    steady = (f"after the first {args.warmup:g} s of counting" if e2e.warm
              else "the whole run: it was shorter than the warm-up")
    rows = [(f"model alone, batch {BATCH}", f"{model['alone']:,.0f} pairs/s"),
            (f"model + infer's explanations, batch {BATCH}", f"{model['explained']:,.0f} pairs/s"),
            (f"end to end, {e2e.pairs:,} pairs", f"{pairs_s:,.0f} pairs/s"
             + ("" if e2e.exact else " (not all counted: see the var folder's up.log)")),
            ("end to end / model alone", f"{pairs_s / model['alone']:.0%}"),
            ("end to end / model + explanations", f"{pairs_s / model['explained']:.0%}"),
            *((f"most {name} lag seen ({steady})", f"{lag:,.0f} records") for name, lag in e2e.max_lag.items()),
            (f"ingest → counted, p50 / p95 / p99 ({steady})", _seconds(e2e.latency)),
            ("ingest → counted, p50 / p95 / p99 (the whole run, start-up included)", _seconds(e2e.latency_whole_run)),
            *((f"{name}, p50 / p95 / p99", _seconds(qs)) for name, qs in e2e.legs.items()),
            *((f"{name}, p50 / p95 / p99", " / ".join(f"{v:.3g}" for v in qs.values()))
              for name, qs in e2e.stages.items()),
            *((f"CPU of {name} per 1,000 pairs", f"{ms:,.0f} ms ({1e6 / ms:,.0f} pairs per CPU-second)")
              for name, ms in sorted(e2e.cpu_ms_per_1k.items(), key=lambda kv: -kv[1]) if ms > 0)]
    print("| measure | value |\n|---|---:|")  # noqa: T201
    for name, value in rows:
        print(f"| {name} | {value} |")  # noqa: T201
    return 0 if e2e.exact else 1


def _seconds(qs: dict[float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in qs.values()) + " s" if qs else "none counted"


def _texts() -> list[str]:
    return [json.loads(line)["text"] for line in sample_file().read_text().splitlines()]

"""`pulse bench`: inference throughput of a bundle, as infer runs it (tokenise + ONNX Runtime), per batch size;
`pulse bench --dedup PAIRS`: Redis memory per counted pair (services/dev/dedup_bench.py).

Prints a Markdown table. Timings are wall-clock on whatever else the machine is doing: compare rows of one run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from models.evaluation.data import read_csv
from models.runtime.bundle import load_bundle, resolve_bundle
from models.runtime.predictor import PRECISIONS, StanceModel
from models.training.fixture_bundle import FIXTURE_CSV
from services.dev.dedup_bench import run_dedup_bench
from services.dev.e2e_bench import WARMUP_S


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", action="append", help="bundle folder (repeat to compare; default: the release)")
    p.add_argument("--csv", default=str(FIXTURE_CSV), help="tweets to score (Tweet,Target,Stance)")
    p.add_argument("--batch-sizes", default="1,32,256")
    p.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: all cores)")
    p.add_argument("--precision", action="append", choices=PRECISIONS,
                   help="graph to run (repeat to compare; default auto: the int8 graph where the bundle has one)")
    p.add_argument("--explain", default="", metavar="N,M",
                   help="also measure with infer's explanations on: the newest N pairs of each batch explained, the "
                        "newest M of them by occlusion (infer's defaults: 16,1); rows with and without, one run")
    p.add_argument("--dedup", type=int, metavar="PAIRS",
                   help="instead: Redis bytes per counted pair of the aggregator's de-duplication, over PAIRS pairs")
    p.add_argument("--e2e", action="store_true",
                   help="instead: the whole local pipeline (a fresh pulse up) beside the model alone, one run "
                        "(services/dev/e2e_bench.py)")
    p.add_argument("--infer", action="store_true",
                   help="the infer service draining a backlog, with 1…N replicas, beside the model alone "
                        "(services/dev/infer_bench.py)")
    p.add_argument("--replicas", default="1,2", help="with --infer: replica counts to measure, comma-separated")
    p.add_argument("--pin", action="store_true",
                   help="with --infer: each replica on a core of its own (CPU affinity), as pods with a one-core "
                        "limit: scale-out measured apart from how many cores one replica can use")
    p.add_argument("--partitions", type=int, default=0,
                   help="with --infer: raw topic partitions (0: three per replica of the largest count)")
    p.add_argument("--posts", type=int, default=30_000,
                   help="with --e2e or --infer: posts to replay (whole passes of the sample)")
    p.add_argument("--rate", type=float, default=0.0, help="with --e2e: posts/s offered (0: as fast as ingest sends)")
    p.add_argument("--warmup", type=float, default=WARMUP_S,
                   help="with --e2e: seconds of counting before lag and latency are measured")
    p.add_argument("--var", default="var/bench-e2e", help="with --e2e: pulse up's folder (emptied first)")
    p.add_argument("--timeout", type=float, default=900.0, help="with --e2e: give up after this many seconds")
    p.add_argument("--set", action="append", default=[], metavar="PULSE_NAME=VALUE",
                   help="with --e2e: a setting for the stack (repeatable; the caller's own PULSE_* are not passed on)")


def measure(model: StanceModel, texts: list[str], targets: list[str], batch: int,
            seconds: float, explain: tuple[int, int] = (0, 0)) -> tuple[float, float]:
    """(tweets per second, median seconds per batch) over at least `seconds`; with `explain` (N, M), each batch
    is also explained as infer does."""

    def score(chunk: slice) -> None:
        probs = model.predict(texts[chunk], targets[chunk])
        if explain[0]:
            model.explain_batch(texts[chunk], targets[chunk], model.decide(probs, targets[chunk]).tolist(), *explain)

    score(slice(0, batch))  # warm-up
    times, n, start, i = [], 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        chunk = slice(i, i + batch)
        t0 = time.perf_counter()
        score(chunk)
        times.append(time.perf_counter() - t0)
        n += len(texts[chunk])
        i = (i + batch) % max(1, len(texts) - batch)
    times.sort()
    return n / (time.perf_counter() - start), times[len(times) // 2]


def run(args: argparse.Namespace) -> int:
    if args.dedup:
        return run_dedup_bench(args.dedup)
    if args.e2e:
        from services.dev.e2e_bench import run as run_e2e

        return run_e2e(args)
    if args.infer:
        from services.dev.infer_bench import run as run_infer

        return run_infer(args)
    examples = read_csv(args.csv)
    texts, targets = [e.text for e in examples], [e.target for e in examples]
    while len(texts) < 1024:  # enough rows for the largest batch
        texts, targets = texts * 2, targets * 2
    bundles = [load_bundle(b) for b in args.bundle] if args.bundle else [resolve_bundle()]
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    precisions = args.precision or ["auto"]
    explains = [(0, 0)]
    if args.explain:
        n, m = (int(x) for x in args.explain.split(","))
        explains.append((n, m))
    print(f"`pulse bench --csv {Path(args.csv).name} --batch-sizes {args.batch_sizes} --seconds {args.seconds}"
          f"{f' --explain {args.explain}' if args.explain else ''}`\n")
    print("| bundle | graph | batch | explained (n-gram + occlusion) | tweets/s | median batch ms |\n"
          "|---|---|---:|---|---:|---:|")
    for b in bundles:
        for precision in precisions:
            if precision == "int8" and b.int8_model_path is None:
                print(f"| {b.meta.version} | no int8 graph | | | |", flush=True)
                continue
            model = StanceModel(b, intra_op_threads=args.threads, prefer_gpu=False, precision=precision)
            for size in sizes:
                for n, m in explains:
                    rate, median = measure(model, texts, targets, size, args.seconds, (n, m))
                    explained = f"{min(n, size) - min(m, n, size)} + {min(m, n, size)}" if n else "none"
                    print(f"| {b.meta.version} | {model.model_file.name} | {size} | {explained} | {rate:,.0f} | "
                          f"{1000 * median:.1f} |", flush=True)
    return 0

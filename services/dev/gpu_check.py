"""`pulse gpu-check`: the served bundle's float graph on a GPU through ONNX Runtime's CUDA provider.

Run where the GPU image runs (a GPU node: deploy/README.md, "Check a GPU node"). It checks, in a few minutes:
1. that ONNX Runtime has the CUDA provider and the session really runs on it (not a silent CPU fallback);
2. parity: the GPU's probabilities against the CPU's on the same float graph, and the labels the two decide;
3. pairs/s at batch 256…4,096: the whole predict (normalise, tokenise, graph, n-grams, calibration) and the graph
   alone on pre-tokenised rows, with infer's length buckets (64 rows a run) and with one run per batch.
Prints a Markdown table; `--out FILE` also writes the figures as JSON. Exit 2: no CUDA provider; 3: the session
fell back to the CPU; 4: parity failed.

Needs only numpy, sentencepiece and onnxruntime-gpu (no torch, no broker or Redis clients), so it runs in the GPU
image or in any Python with those and a checkout.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort

from models.runtime.bundle import resolve_bundle
from models.runtime.predictor import LENGTH_BUCKET, StanceModel

CUDA = "CUDAExecutionProvider"
MAX_PROB_DIFF = 1e-3  # float32 on both; the GPU's kernels sum in another order
MIN_LABEL_AGREEMENT = 0.999


@dataclass(frozen=True)
class Parity:
    pairs: int
    max_prob_diff: float
    label_agreement: float

    @property
    def ok(self) -> bool:
        return self.max_prob_diff <= MAX_PROB_DIFF and self.label_agreement >= MIN_LABEL_AGREEMENT


@dataclass(frozen=True)
class Speed:
    batch: int
    predict: float  # pairs/s, tokenisation and n-grams included (infer's length buckets)
    graph: float  # pairs/s of the graph alone, infer's length buckets
    graph_one_run: float  # pairs/s of the graph alone, the whole batch in one run


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", default="", help="bundle folder (default: the newest release)")
    p.add_argument("--batches", default="256,512,1024,2048,4096", help="batch sizes, comma-separated")
    p.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    p.add_argument("--parity-pairs", type=int, default=2048, help="pairs compared between GPU and CPU")
    p.add_argument("--out", default="", help="also write the figures here as JSON")
    p.add_argument("--provider", default=CUDA, choices=(CUDA, "CPUExecutionProvider"),
                   help="the provider under test; CPUExecutionProvider rehearses the check on a machine without a GPU")


def sample_pairs(targets: list[str], n: int) -> tuple[list[str], list[str]]:
    """n (text, target) pairs: the bundled sample's posts, each with every target the bundle knows, repeated."""
    sample = resources.files(__package__ or "services.dev") / "samples" / "sample_tweets.jsonl"
    texts = [json.loads(line)["text"] for line in sample.read_text().splitlines()]
    pairs = [(t, g) for t in texts for g in targets]
    pairs = (pairs * (n // len(pairs) + 1))[:n]
    return [t for t, _ in pairs], [g for _, g in pairs]


def rate(fn: Callable[[], object], rows: int, seconds: float) -> float:
    """Rows per second over at least `seconds`, after one warm-up call."""
    fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += rows
    return n / (time.perf_counter() - start)


def check_parity(gpu: StanceModel, cpu: StanceModel, n: int) -> Parity:
    texts, targets = sample_pairs(sorted(gpu.targets), n)
    on_gpu = np.concatenate([gpu.predict(texts[i:i + 256], targets[i:i + 256]) for i in range(0, n, 256)])
    on_cpu = np.concatenate([cpu.predict(texts[i:i + 256], targets[i:i + 256]) for i in range(0, n, 256)])
    agree = float(np.mean(gpu.decide(on_gpu, targets) == cpu.decide(on_cpu, targets)))
    return Parity(n, float(np.abs(on_gpu - on_cpu).max()), agree)


def measure(gpu: StanceModel, whole: StanceModel, batch: int, seconds: float) -> Speed:
    texts, targets = sample_pairs(sorted(gpu.targets), batch)
    enc = gpu.tokenizer.encode_batch(texts, targets)
    return Speed(batch,
                 predict=rate(lambda: gpu.predict(texts, targets), batch, seconds),
                 graph=rate(lambda: gpu._run_by_length(enc.ids, enc.lengths), batch, seconds),
                 graph_one_run=rate(lambda: whole._run_by_length(enc.ids, enc.lengths), batch, seconds))


def run(args: argparse.Namespace) -> int:
    available = ort.get_available_providers()
    print(f"ONNX Runtime {ort.__version__}, providers: {', '.join(available)}")  # noqa: T201
    if args.provider not in available:
        print("no CUDA provider: install onnxruntime-gpu (the GPU image has it) on a machine with a GPU")  # noqa: T201
        return 2
    bundle = resolve_bundle(args.bundle)
    batches = [int(b) for b in args.batches.split(",")]
    on_gpu = args.provider == CUDA
    gpu = StanceModel(bundle, prefer_gpu=on_gpu, precision="fp32")
    if gpu.session.get_providers()[0] != args.provider:
        print(f"the session runs on {gpu.session.get_providers()[0]}, not {args.provider}")  # noqa: T201
        return 3
    whole = StanceModel(bundle, prefer_gpu=on_gpu, precision="fp32", length_bucket=max(batches))
    parity = check_parity(gpu, StanceModel(bundle, prefer_gpu=False, precision="fp32"), args.parity_pairs)
    speeds = [measure(gpu, whole, b, args.seconds) for b in batches]
    rehearsal = "" if on_gpu else f" --provider {args.provider}"
    print(f"\n`pulse gpu-check --batches {args.batches} --seconds {args.seconds:g}{rehearsal}` ({bundle.meta.version}, "  # noqa: T201
          f"float graph on {gpu.session.get_providers()[0]})\n")
    print(f"Parity on {parity.pairs:,} pairs: largest probability difference {parity.max_prob_diff:.2e} "  # noqa: T201
          f"(limit {MAX_PROB_DIFF:g}), labels agree on {parity.label_agreement:.2%} (limit "
          f"{MIN_LABEL_AGREEMENT:.1%}): {'ok' if parity.ok else 'FAILED'}\n")
    print(f"| batch | predict, tokenisation included (pairs/s) | graph alone, {LENGTH_BUCKET} rows a run "  # noqa: T201
          "| graph alone, one run |\n|---:|---:|---:|---:|")
    for s in speeds:
        print(f"| {s.batch:,} | {s.predict:,.0f} | {s.graph:,.0f} | {s.graph_one_run:,.0f} |")  # noqa: T201
    if args.out:
        Path(args.out).write_text(json.dumps({"onnxruntime": ort.__version__, "bundle": bundle.meta.version,
                                              "parity": {**asdict(parity), "ok": parity.ok},
                                              "speeds": [asdict(s) for s in speeds]}, indent=2))
    return 0 if parity.ok else 4


if __name__ == "__main__":  # `python -m services.dev.gpu_check`: the same without the `pulse` entry point
    parser = argparse.ArgumentParser(prog="gpu-check", description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser)
    raise SystemExit(run(parser.parse_args()))

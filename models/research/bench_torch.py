"""Throughput of the AWD-LSTM classifier sizes in PyTorch on a GPU: the stand-in for onnxruntime-gpu where that
cannot be installed (deploy/README.md#sizing). Tokenising on one CPU core is included, as infer does it.

    python -m models.research.bench_torch --csv raw_val_trump.csv [--device cuda] [--batch-sizes 256,1024,4096]

Speed does not depend on the weights' values, so the models are built untrained at each size.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from models.evaluation.data import read_csv
from models.runtime.bundle import resolve_bundle
from models.runtime.text import Tokenizer
from models.training.awdlstm import AWDConfig, StanceClassifier
from models.training.ulmfit import SIZES


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.research.bench_torch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", required=True, help="tweets to classify (Tweet,Target,Stance)")
    p.add_argument("--bundle", help="for the tokenizer and max_len (default: the newest bundle in models/release)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--sizes", default="small,medium,full")
    p.add_argument("--batch-sizes", default="256,1024,4096")
    p.add_argument("--batches", type=int, default=10, help="timed batches per setting (after 2 warm-up batches)")
    args = p.parse_args(argv)
    bundle = resolve_bundle(args.bundle)
    tok = Tokenizer.for_bundle(bundle)
    examples = read_csv(args.csv)
    texts, targets = [e.text for e in examples] * 8, [e.target for e in examples] * 8
    device = torch.device(args.device)
    results = {}
    for size in args.sizes.split(","):
        emb, hidden, layers = SIZES[size]
        model = StanceClassifier(AWDConfig(vocab_size=tok.vocab_size, emb_size=emb, hidden_size=hidden,
                                           n_layers=layers)).to(device).eval()
        for bs in (int(b) for b in args.batch_sizes.split(",")):
            n, t0 = 0, 0.0
            with torch.inference_mode():
                for rep in range(args.batches + 2):
                    if rep == 2:
                        if device.type == "cuda":
                            torch.cuda.synchronize()
                        t0, n = time.perf_counter(), 0
                    start = (rep * bs) % max(1, len(texts) - bs)
                    enc = tok.encode_batch(texts[start:start + bs], targets[start:start + bs])
                    model(torch.from_numpy(enc.ids).to(device), torch.from_numpy(enc.lengths).to(device))
                    n += len(enc.lengths)
                if device.type == "cuda":
                    torch.cuda.synchronize()
            results[f"{size}@{bs}"] = round(n / (time.perf_counter() - t0))
            print(f"{size} batch {bs}: {results[f'{size}@{bs}']} tweets/s", flush=True)
    print(json.dumps({"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

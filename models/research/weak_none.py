"""Does weakly labelled NONE data help the n-gram half find neutral posts?

    python -m models.research.weak_none --bundle models/release/ulmfit-small-v5 --data-dir ../shared/data

The GOP debate set (2015) has crowd sentiment, not stance, per candidate mentioned. Its tweets about Donald Trump
with Neutral sentiment (crowd confidence >= --min-confidence) are taken as NONE toward him, added to the stance
training data, and the n-gram tables refitted; the bundle's LSTM half is kept. Two variants, the tables refitted
the same way without the extra tweets and with them, are measured like the served model: the 3-class sets, the
NONE decision weight and temperature cross-fitted by halves (models/research/calibrate.py). Prints per set
macro-F1 and NONE F1 (argmax and weighted) for both, and P-Stance 2-class F_avg.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from models.evaluation.data import Example
from models.evaluation.evaluate import evaluate_predictions
from models.research.calibrate import SETS, cross_fitted
from models.runtime.bundle import load_bundle
from models.runtime.ngram import NGRAM_FILE
from models.runtime.predictor import StanceModel
from models.training.corpus import DataDir, LeakFilter
from models.training.ngram_fit import NgramConfig, fit_ngram_tables, save_tables


def weak_none(root: Path, min_confidence: float) -> list[Example]:
    with (root / "gop_debate_sentiment" / "Sentiment.csv").open(encoding="utf-8", newline="") as fh:
        return [Example(row["text"], "Donald Trump", "NONE") for row in csv.DictReader(fh)
                if row["candidate"] == "Donald Trump" and row["sentiment"] == "Neutral"
                and float(row["sentiment_confidence"] or 0) >= min_confidence]


def measure(bundle_dir: Path, data: DataDir) -> dict[str, object]:
    model = StanceModel(load_bundle(bundle_dir), prefer_gpu=False, calibrated=False)
    sets = data.eval_sets()
    named = [(name, e) for name in SETS for e in sets[name] if e.target in model.targets]
    texts, targets = [e.text for _, e in named], [e.target for _, e in named]
    probs = model.predict(texts, targets).astype(np.float64)
    report = cross_fitted(probs, [e.label for _, e in named], targets, texts, model.labels, [n for n, _ in named])
    two = sets["pstance_val_2class"]
    p2 = model.predict([e.text for e in two], [e.target for e in two])
    return {"sets": report["sets"], "pstance_2class_f_avg": evaluate_predictions(p2, two, model.labels, True)["f_avg"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", required=True)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--min-confidence", type=float, default=0.9)
    args = p.parse_args(argv)
    data = DataDir(args.data_dir)
    bundle = load_bundle(args.bundle)
    leak = LeakFilter(data.eval_texts())
    train = leak.examples(data.stance_train(with_none=True))
    extra = leak.examples(weak_none(Path(args.data_dir), args.min_confidence))
    out: dict[str, object] = {"weak_none_examples": len(extra)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, examples in (("refit", train), ("with_weak_none", train + extra)):  # the same fit, ± the extra
            variant = Path(tmp) / name
            shutil.copytree(bundle.path, variant)
            save_tables(variant / NGRAM_FILE, fit_ngram_tables(examples, bundle.meta.labels, NgramConfig()),
                        bundle.meta.labels)
            out[name] = measure(variant, data)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

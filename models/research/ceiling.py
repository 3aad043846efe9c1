"""What would averaging whole bundles buy? The ceiling of the members trained so far, and of distilling them.

    python -m models.research.ceiling --data-dir ../shared/data --bundle models/release/ulmfit-small-v5 \\
        --bundle runs/release-cpu/ulmfit-small-v6 --bundle runs/release-cpu/ulmfit-v7

Scores every evaluation set once per bundle (float graph, uncalibrated probabilities, each with its own n-gram
half) and prints, for every subset of the bundles, the evaluation figures of their mean probability: F_avg and
3-class macro-F1, P-Stance 2-class F_avg per target. A subset of k bundles costs about k times one bundle to serve,
so these are what a distilled student could at best reach, not what a CPU node can serve within the budget.
Figures are measured on the evaluation sets themselves: read them as an upper bound for choosing, not a result.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation.evaluate import evaluate_predictions
from models.runtime.bundle import load_bundle
from models.runtime.predictor import StanceModel
from models.training.corpus import DataDir

TWO_CLASS = "pstance_val_2class"


def subset_figures(probs: Mapping[str, Mapping[str, np.ndarray]], sets: Mapping[str, Sequence[Any]],
                   labels: Sequence[str]) -> list[dict[str, Any]]:
    """For each non-empty subset of the bundles in `probs` (name → set → probabilities), the figures of the mean."""
    rows = []
    names = list(probs)
    for k in range(1, len(names) + 1):
        for combo in itertools.combinations(names, k):
            row: dict[str, Any] = {"bundles": list(combo)}
            for name, examples in sets.items():
                mean = np.mean([probs[b][name] for b in combo], axis=0)
                m = evaluate_predictions(mean, examples, list(labels), two_class=name == TWO_CLASS)
                row[name] = {"f_avg": m["f_avg"], "macro_f1": m["macro_f1"]}
                if name == TWO_CLASS:
                    row[name]["per_target"] = {t: v["f_avg"] for t, v in m["per_target"].items()}
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.research.ceiling", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", action="append", required=True, help="a bundle folder (repeat)")
    p.add_argument("--data-dir", default="../shared/data")
    args = p.parse_args(argv)
    sets = DataDir(args.data_dir).eval_sets()
    probs: dict[str, dict[str, np.ndarray]] = {}
    labels: list[str] = []
    for path in args.bundle:
        model = StanceModel(load_bundle(path), prefer_gpu=False, precision="fp32", calibrated=False)
        labels = model.labels
        probs[Path(path).name] = {name: model.predict([e.text for e in ex], [e.target for e in ex])
                                  for name, ex in sets.items()}
    for row in subset_figures(probs, sets, labels):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Baselines on the same training data and evaluation sets as the ULMFiT models, by the same metric code.

    python -m models.research.baselines --data-dir ../shared/data            # prints JSON, writes --out if given

majority class; TF-IDF (word 1-2 grams) + logistic regression; word 1-2 + char 2-5 n-gram TF-IDF + linear SVM.
Following P-Stance, one model per target, trained on that target's tweets (targets without training data
fall back to all tweets). Trained 3-class (with NONE), like the served model; 2-class sets take the likelier
of FAVOR and AGAINST.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.svm import LinearSVC

from models.evaluation.data import LABELS, Example
from models.evaluation.evaluate import evaluate_predictions
from models.runtime.text import normalise
from models.training.corpus import DataDir, LeakFilter

log = logging.getLogger(__name__)


def _tfidf_lr() -> Any:
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                         LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced"))


def _ngram_svm() -> Any:
    features = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
    ])
    return make_pipeline(features, LinearSVC(C=0.5, class_weight="balanced"))


class PerTarget:
    """One classifier per target; scores as [n, labels] so the shared metric code applies."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory
        self.models: dict[str, Any] = {}

    def fit(self, train: Sequence[Example]) -> PerTarget:
        self.fallback = self.factory().fit([normalise(e.text) for e in train], [e.label for e in train])
        for target in {e.target for e in train}:
            rows = [e for e in train if e.target == target]
            if len({e.label for e in rows}) == len(LABELS):
                self.models[target] = self.factory().fit([normalise(e.text) for e in rows], [e.label for e in rows])
        return self

    def scores(self, examples: Sequence[Example]) -> np.ndarray:
        out = np.zeros((len(examples), len(LABELS)))
        for i, e in enumerate(examples):
            model = self.models.get(e.target, self.fallback)
            s = model.decision_function([normalise(e.text)])[0]
            out[i, [LABELS.index(c) for c in model.classes_]] = s
        return out


def majority_scores(train: Sequence[Example], examples: Sequence[Example]) -> np.ndarray:
    by_target = {t: Counter(e.label for e in train if e.target == t) for t in {e.target for e in train}}
    overall = Counter(e.label for e in train)
    out = np.zeros((len(examples), len(LABELS)))
    for i, e in enumerate(examples):
        counts = by_target.get(e.target, overall)
        out[i] = [counts[lab] for lab in LABELS]
    return out


def run_baselines(data: DataDir) -> dict[str, Any]:
    leaks = LeakFilter(data.eval_texts())
    train = leaks.examples(data.stance_train(with_none=True))
    evals = data.eval_sets()
    report: dict[str, Any] = {}
    models: dict[str, Any] = {"tfidf_lr": PerTarget(_tfidf_lr).fit(train),
                              "ngram_svm": PerTarget(_ngram_svm).fit(train)}
    for name in ("majority", "tfidf_lr", "ngram_svm"):
        report[name] = {}
        for set_name, examples in evals.items():
            scores = (majority_scores(train, examples) if name == "majority"
                      else models[name].scores(examples))
            report[name][set_name] = evaluate_predictions(scores, examples, LABELS,
                                                          two_class=set_name.endswith("2class"))
        log.info("%s: %s", name, {k: v["f_avg"] for k, v in report[name].items()})
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.research.baselines", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--out", help="write the full report (JSON) here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    report = run_baselines(DataDir(args.data_dir))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    summary = {m: {s: {"f_avg": r["f_avg"], "per_target": {t: v["f_avg"] for t, v in r["per_target"].items()}}
                   for s, r in sets.items()} for m, sets in report.items()}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

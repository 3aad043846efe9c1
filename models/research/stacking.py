"""Would a learned combiner of the two halves beat the fixed blend plus the NONE decision weight?

    python -m models.research.stacking --bundle models/release/ulmfit-small-v5 --data-dir ../shared/data

The served ensemble averages the AWD-LSTM half and the n-gram half at a fixed weight, then applies a per-target
temperature and NONE decision weight. Here, per target, a multinomial logistic regression on the six log
probabilities of the two halves (stacking) is fitted instead, on the same 3-class sets and with the same 2-fold
cross-fitting by text hash (each half predicted by a combiner fitted on the other). Prints per set macro-F1 and
NONE F1 for: the blend's argmax, the blend with the cross-fitted NONE weight (what is served), and stacking.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from models.evaluation.calibration_fit import fit_none_bias, macro_f1, text_fold
from models.research.calibrate import SETS, none_f1
from models.runtime.bundle import load_bundle
from models.runtime.calibration import decide
from models.runtime.predictor import StanceModel
from models.training.corpus import DataDir


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", required=True)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--c", type=float, default=1.0, help="inverse regularisation of the combiner")
    p.add_argument("--balanced", action="store_true", help="class weights inverse to frequency in the combiner")
    args = p.parse_args(argv)
    model = StanceModel(load_bundle(args.bundle), prefer_gpu=False, calibrated=False)
    assert model.ngrams is not None, "the bundle has no n-gram half"
    sets = DataDir(args.data_dir).eval_sets()
    named = [(name, e) for name in SETS for e in sets[name] if e.target in model.targets]
    texts, targets = [e.text for _, e in named], np.array([e.target for _, e in named])
    gold = np.array([model.labels.index(e.label) for _, e in named])
    names = np.array([n for n, _ in named])
    folds = np.array([text_fold(t) for t in texts])
    enc = model.tokenizer.encode_batch(texts, list(targets))
    p_lstm = model._run_by_length(enc.ids, enc.lengths).astype(np.float64)
    p_ngram = model.ngrams.predict(texts, list(targets)).astype(np.float64)
    w = model.ngram_weight
    blend = (1 - w) * p_lstm + w * p_ngram
    features = np.log(np.clip(np.hstack([p_lstm, p_ngram]), 1e-9, 1.0))
    none = model.labels.index("NONE")
    weighted, stacked = blend.argmax(axis=1), blend.argmax(axis=1)
    for target in sorted(set(targets)):
        for k in (0, 1):
            fit, held = (targets == target) & (folds != k), (targets == target) & (folds == k)
            weighted[held] = decide(blend[held], none, fit_none_bias(blend[fit], gold[fit], none))
            lr = LogisticRegression(C=args.c, max_iter=2000, class_weight="balanced" if args.balanced else None)
            lr.fit(features[fit], gold[fit])
            stacked[held] = lr.predict(features[held])
    out: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        rows = names == name
        out[name] = {how: [round(100 * macro_f1(gold[rows], pred[rows], 3), 2),
                           round(100 * none_f1(gold[rows], pred[rows], model.labels), 2)]
                     for how, pred in (("argmax", blend.argmax(axis=1)), ("none_weight", weighted),
                                       ("stacking", stacked))}
    print(json.dumps({"macro_f1, none_f1 per set (2-fold cross-fitted)": out}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

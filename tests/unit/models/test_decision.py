"""The NONE decision weight on synthetic scores with a known flaw: a model that under-states NONE gets a positive
weight that raises held-out macro-F1; a model without the flaw keeps (about) the plain argmax; the served
confusion counts, which the corrected shares invert, are the decision's."""

from __future__ import annotations

import numpy as np

from models.evaluation.calibration_fit import fit_calibration, fit_none_bias, macro_f1
from models.runtime.calibration import Calibration, decide

LABELS = ["FAVOR", "AGAINST", "NONE"]


def scores(n: int, none_shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(probs, gold) from noisy logits; NONE's logit lowered by `none_shift` (a model that rarely says NONE)."""
    rng = np.random.default_rng(seed)
    gold = rng.choice(3, size=n, p=[0.4, 0.45, 0.15])
    logits = 1.6 * np.eye(3)[gold] + rng.normal(0, 1.0, size=(n, 3))
    logits[:, 2] -= none_shift
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probs, gold


def test_a_model_that_under_states_none_gets_a_weight_that_helps_on_held_out_rows() -> None:
    probs, gold = scores(3000, none_shift=1.2, seed=1)
    bias = fit_none_bias(probs, gold, none_index=2)
    assert 0.6 <= bias <= 1.8  # about the shift
    held_probs, held_gold = scores(3000, none_shift=1.2, seed=2)  # other rows, same model
    plain = macro_f1(held_gold, held_probs.argmax(axis=1), 3)
    weighted = macro_f1(held_gold, decide(held_probs, 2, bias), 3)
    assert weighted > plain + 0.03, (plain, weighted)


def test_a_model_without_the_flaw_keeps_about_the_argmax() -> None:
    probs, gold = scores(3000, none_shift=0.0, seed=3)
    assert abs(fit_none_bias(probs, gold, none_index=2)) <= 0.3


def test_the_served_confusion_is_the_decisions_and_the_decision_is_per_target() -> None:
    probs, gold = scores(1200, none_shift=1.2, seed=4)
    targets = ["Joe Biden"] * len(gold)
    folds = [i % 2 for i in range(len(gold))]
    meta = fit_calibration(probs, [LABELS[g] for g in gold], targets, LABELS, "synthetic", folds=folds)
    entry = meta["targets"]["Joe Biden"]
    assert entry["none_bias"] > 0 and entry["cross_fitted"]["macro_f1"][1] > entry["cross_fitted"]["macro_f1"][0]
    cal = Calibration.from_meta(meta, LABELS)
    assert cal is not None
    served = cal.decide(cal.apply(probs, targets), targets)
    confusion = np.zeros((3, 3), dtype=int)
    np.add.at(confusion, (gold, served), 1)
    assert confusion.tolist() == entry["confusion"]
    assert confusion[2, 2] > np.sum((gold == 2) & (probs.argmax(axis=1) == 2))  # more NONE found than argmax
    # another target, not calibrated: the plain argmax
    assert (cal.decide(probs, ["Kamala Harris"] * len(gold)) == probs.argmax(axis=1)).all()

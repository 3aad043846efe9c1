"""Fitting a bundle's calibration on labelled data it was not trained on: per target a temperature, a NONE
decision weight and the confusion counts, each served only where 2-fold cross-fitting shows it helps
(models/runtime/calibration.py serves what this fits, and says what each part does)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.evaluation.share_check import correction_check
from models.runtime.calibration import NONE, decide, scale

ECE_BINS = 15
TEMPERATURES = np.exp(np.linspace(np.log(0.2), np.log(5.0), 161))  # the grid a temperature is chosen from
NONE_BIASES = np.round(np.linspace(-1.0, 3.0, 41), 2)  # the grid a NONE decision weight is chosen from
MIN_SHARE_GAIN = 0.9  # corrected shares are served where their cross-fitted error is at most 90% of raw counting's



def text_fold(text: str) -> int:
    """0 or 1 from a hash of the text: a split that is the same on every run and machine (cross-fitting)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=2).digest()[0] % 2


def nll(probs: np.ndarray, gold: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(gold)), gold], 1e-12, 1.0))))


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """The temperature with the least negative log-likelihood on (probs, gold index), from a log grid."""
    losses = [nll(scale(probs, t), gold) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def expected_calibration_error(probs: np.ndarray, gold: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of the top label: the bin-weighted gap between confidence and accuracy, equal-width bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def reliability(probs: np.ndarray, gold: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per confidence bin: mean confidence, accuracy and count (a reliability diagram's points)."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    return [{"confidence": float(conf[which == b].mean()), "accuracy": float(correct[which == b].mean()),
             "n": int((which == b).sum())} for b in range(bins) if (which == b).any()]


def macro_f1(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> float:
    scores = []
    for k in range(n_labels):
        tp = float(np.sum((pred == k) & (gold == k)))
        denom = float(np.sum(pred == k) + np.sum(gold == k))
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def fit_none_bias(probs: np.ndarray, gold: np.ndarray, none_index: int) -> float:
    """The NONE decision weight with the best 3-class macro-F1 on (probs, gold index); the smallest |bias| of
    equals, so no evidence means 0."""
    n = probs.shape[1]
    scores = [macro_f1(gold, decide(probs, none_index, float(b)), n) for b in NONE_BIASES]
    best = max(scores)
    return float(min((b for b, s in zip(NONE_BIASES, scores, strict=True) if s >= best - 1e-12), key=abs))


def fit_calibration(probs: np.ndarray, gold: Sequence[str], targets: Sequence[str], labels: Sequence[str],
                    fitted_on: str, min_examples: int = 50, folds: Sequence[int] | None = None,
                    always_fit_bias: bool = False) -> dict[str, Any]:
    """The `calibration` meta block: per target with at least `min_examples` rows, a temperature and the
    confusion counts, with the figures (NLL, ECE) for the model card.

    With `folds` (0 or 1 per row) the temperature is checked by 2-fold cross-fitting: each half scaled with the
    temperature fitted on the other. It is served only if that lowered both the held-out ECE and NLL; otherwise
    the probabilities are already as honest as a temperature makes them and 1.0 is served. The NONE decision
    weight likewise: fitted on the (scaled) probabilities, served only if the cross-fitted macro-F1 rose;
    without folds it is not fitted (unless `always_fit_bias`: for measuring the procedure by cross-fitting from
    outside). The confusion counts use the served decision.
    """
    gold_idx = np.array([list(labels).index(g) for g in gold])
    tg = np.asarray(targets)
    fold_arr = np.asarray(folds) if folds is not None else None
    none_index = list(labels).index(NONE) if NONE in labels else None
    out: dict[str, Any] = {"labels": list(labels), "fitted_on": fitted_on, "targets": {}}
    for target in sorted(set(targets)):
        rows = tg == target
        if rows.sum() < min_examples:
            continue
        p, g = probs[rows].astype(np.float64), gold_idx[rows]
        t = fit_temperature(p, g)
        entry: dict[str, Any] = {"temperature": round(t, 4), "n": int(rows.sum())}
        bias = 0.0
        if fold_arr is not None:
            f = fold_arr[rows]
            held = p.copy()
            held_pred = p.argmax(axis=1)
            for k in (0, 1):
                if (f == k).any() and (f != k).any():
                    fit_t = fit_temperature(p[f != k], g[f != k])
                    held[f == k] = scale(p[f == k], fit_t)
                    if none_index is not None:
                        b = fit_none_bias(scale(p[f != k], fit_t), g[f != k], none_index)
                        held_pred[f == k] = decide(held[f == k], none_index, b)
            ece = [expected_calibration_error(p, g), expected_calibration_error(held, g)]
            loss = [nll(p, g), nll(held, g)]
            f1 = [macro_f1(g, p.argmax(axis=1), len(labels)), macro_f1(g, held_pred, len(labels))]
            entry["cross_fitted"] = {"ece": [round(x, 4) for x in ece], "nll": [round(x, 4) for x in loss],
                                     "macro_f1": [round(x, 4) for x in f1]}
            if not (ece[1] < ece[0] and loss[1] < loss[0]):
                entry["temperature"] = 1.0
            if none_index is not None and f1[1] > f1[0]:
                bias = fit_none_bias(scale(p, entry["temperature"]), g, none_index)
        if always_fit_bias and none_index is not None:
            bias = fit_none_bias(scale(p, entry["temperature"]), g, none_index)
        entry["none_bias"] = bias
        pred = decide(scale(p, entry["temperature"]), none_index, bias)  # as served: bias on the scaled log p
        confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
        np.add.at(confusion, (g, pred), 1)
        entry["confusion"] = confusion.tolist()
        if fold_arr is not None and len(labels) == 3:
            # The corrected shares invert these counts; serve them only where that carried to the other half.
            check = correction_check(pred, g, fold_arr[rows])
            entry["shares_check"] = check
            entry["serve_shares"] = check is not None and check["corrected"] <= MIN_SHARE_GAIN * check["raw"]
        out["targets"][target] = entry
    return out

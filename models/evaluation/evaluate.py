"""Stance metrics: accuracy, macro-F1 and F_avg (SemEval-2016: mean F1 of FAVOR and AGAINST)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _counts(gold: Sequence[str], pred: Sequence[str], lab: str) -> tuple[int, int, int]:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p == lab)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != lab and p == lab)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p != lab)
    return tp, fp, fn


def f1_per_label(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    out = {}
    for lab in labels:
        tp, fp, fn = _counts(gold, pred, lab)
        out[lab] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def precision_recall(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    out = {}
    for lab in labels:
        tp, fp, fn = _counts(gold, pred, lab)
        out[lab] = {"precision": round(100 * tp / (tp + fp), 2) if tp + fp else 0.0,
                    "recall": round(100 * tp / (tp + fn), 2) if tp + fn else 0.0}
    return out


def stance_metrics(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str], targets: Sequence[str] | None = None
) -> dict[str, Any]:
    """JSON-ready figures (percentages, 2 decimals); per target too when targets are given."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    present = [lab for lab in labels if lab in set(gold)]
    f1 = f1_per_label(gold, pred, present)
    stance = [lab for lab in ("FAVOR", "AGAINST") if lab in f1]
    result: dict[str, Any] = {
        "n": len(gold),
        "accuracy": round(100 * sum(g == p for g, p in zip(gold, pred, strict=True)) / max(1, len(gold)), 2),
        "macro_f1": round(100 * sum(f1.values()) / max(1, len(f1)), 2),
        "f_avg": round(100 * sum(f1[s] for s in stance) / max(1, len(stance)), 2),
        "f1": {k: round(100 * v, 2) for k, v in f1.items()},
        "precision_recall": precision_recall(gold, pred, present),
        "confusion": {g: {p: sum(1 for a, b in zip(gold, pred, strict=True) if a == g and b == p)
                          for p in labels} for g in present},
    }
    if targets is not None:
        per = {}
        for t in sorted(set(targets)):
            idx = [i for i, x in enumerate(targets) if x == t]
            per[t] = stance_metrics([gold[i] for i in idx], [pred[i] for i in idx], labels)
            per[t].pop("confusion")
        result["per_target"] = per
    return result


def evaluate_predictions(probs: Any, examples: Sequence[Any], labels: Sequence[str],
                         two_class: bool = False, decided: Any = None) -> dict[str, Any]:
    """Metrics for model probabilities [n, labels]. two_class: the data has no NONE, so the prediction is the
    likelier of FAVOR and AGAINST (the P-Stance 2-class protocol). `decided`: the served label indices (a
    model's `decide`), when they are not simply the argmax (3-class only)."""
    import numpy as np

    probs = np.asarray(probs)
    keep = [labels.index(x) for x in ("FAVOR", "AGAINST")] if two_class else list(range(len(labels)))
    if decided is not None and not two_class:
        pred = [labels[int(i)] for i in decided]
    else:
        pred = [labels[keep[i]] for i in probs[:, keep].argmax(axis=1)]
    eval_labels = ["FAVOR", "AGAINST"] if two_class else list(labels)
    result = stance_metrics([e.label for e in examples], pred, eval_labels, [e.target for e in examples])
    if not two_class:  # calibration of the probabilities as served: the top label's confidence against accuracy
        from models.evaluation.calibration_fit import expected_calibration_error

        gold = np.array([list(labels).index(e.label) for e in examples])
        result["calibration_error"] = round(100 * expected_calibration_error(probs.astype(np.float64), gold), 2)
    return result

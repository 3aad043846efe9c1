"""How far a model's labels agree with people's, with intervals from resampling the posts: accuracy, macro-F1 and
F_avg (the mean F1 of FAVOR and AGAINST), vectorised so thousands of resamples take milliseconds. One definition
for the API's live quality (reviewed posts of the stream) and for comparing a retrained bundle with the shipped one
(models/evaluation/live_comparison.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.runtime.labels import LABELS

METRICS = ("accuracy", "macro_f1", "f_avg")
INDEX: dict[str, int] = {label: k for k, label in enumerate(LABELS)}


def as_indices(labels: Sequence[str]) -> np.ndarray:
    return np.array([INDEX[x] for x in labels], dtype=np.int64)


def resampled_metrics(gold: np.ndarray, pred: np.ndarray, draws: np.ndarray,
                      weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Accuracy, macro-F1 (over the labels present in the gold) and F_avg, in %, for each row of `draws` (indices
    into the posts; label indices in LABELS order). `weights`: each post's (1 / its probability of being sampled),
    so a stratified sample estimates the figures of what it was drawn from; None: all equal."""
    g, p = gold[draws], pred[draws]
    w = np.ones(draws.shape) if weights is None else weights[draws]
    f1 = {}
    for k, label in enumerate(LABELS):
        if not (gold == k).any():
            continue
        tp = (w * ((g == k) & (p == k))).sum(axis=1)
        fp = (w * ((g != k) & (p == k))).sum(axis=1)
        fn = (w * ((g == k) & (p != k))).sum(axis=1)
        f1[label] = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), 0.0)
    stance = [f1[x] for x in ("FAVOR", "AGAINST") if x in f1]
    return {"accuracy": 100 * (w * (g == p)).sum(axis=1) / w.sum(axis=1),
            "macro_f1": 100 * np.mean(list(f1.values()), axis=0),
            "f_avg": 100 * np.mean(stance, axis=0) if stance else np.zeros(len(draws))}


def resamples(n: int, reps: int, seed: int = 0) -> np.ndarray:
    """`reps` bootstrap draws of n posts: one row of indices each."""
    return np.random.default_rng(seed).integers(0, n, size=(reps, n))


def macro_f1_interval(gold: Sequence[str], pred: Sequence[str], weights: Sequence[float] | None = None,
                      reps: int = 1000, seed: int = 0) -> tuple[float, float, float] | None:
    """Macro-F1 (%) of `pred` against `gold` (each post weighed, see resampled_metrics) and its 95% bootstrap
    interval over the posts; None without posts."""
    if not gold:
        return None
    g, p = as_indices(gold), as_indices(pred)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    point = float(resampled_metrics(g, p, np.arange(len(g))[None, :], w)["macro_f1"][0])
    low, high = np.percentile(resampled_metrics(g, p, resamples(len(g), reps, seed), w)["macro_f1"], [2.5, 97.5])
    return round(point, 2), round(float(low), 2), round(float(high), 2)

"""Whether correcting shares with a confusion matrix beats raw counting on posts it was not measured on:
simulated windows drawn from held-out labelled rows (models/runtime/quantify.py corrects; this checks)."""

from __future__ import annotations

import numpy as np

from models.runtime.quantify import solve_shares

CHECK_MIXES = ((0.20, 0.30, 0.50), (0.10, 0.20, 0.70), (0.33, 0.33, 0.34), (0.40, 0.40, 0.20), (0.30, 0.60, 0.10))
CHECK_STREAM = 1000  # posts per simulated window
CHECK_TRIALS = 20
MIN_CLASS_ROWS = 10  # a held-out half with fewer rows of a class cannot stand for a stream


def sample_window(by_class: list[np.ndarray], mix: tuple[float, ...], size: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A simulated window: `size` labelled rows drawn with replacement, each class's from its `by_class` pool, in
    proportions drawn from `mix`. Returns (row indices, the window's true shares)."""
    n_k = rng.multinomial(size, mix)
    rows = np.concatenate([rng.choice(pool, size=n) for pool, n in zip(by_class, n_k, strict=True)])
    return rows, n_k / size


def correction_check(pred: np.ndarray, gold: np.ndarray, folds: np.ndarray, seed: int = 0) -> dict[str, float] | None:
    """Does correcting beat raw counting on posts the error rates were not measured on? 2-fold cross-fitted.

    For each half, the confusion counts come from the other half; windows of CHECK_STREAM posts drawn (with
    replacement) from this half at each of CHECK_MIXES are counted raw and corrected, and both compared with the
    mix drawn. Returns the mean total absolute error of the three shares, raw and corrected, over all windows;
    None when a half lacks MIN_CLASS_ROWS of some class. Small or heterogeneous labelled data shows here: a
    confusion measured on a few dozen rows per class does not carry to the other half, and the correction then
    gains nothing.
    """
    pred, gold, folds = np.asarray(pred), np.asarray(gold), np.asarray(folds)
    rng = np.random.default_rng(seed)
    raw, corrected = [], []
    for k in (0, 1):
        fit, held = folds != k, folds == k
        by_class = [np.flatnonzero(held & (gold == c)) for c in range(3)]
        if any(len(rows) < MIN_CLASS_ROWS for rows in by_class):
            return None
        confusion = np.zeros((3, 3))
        np.add.at(confusion, (gold[fit], pred[fit]), 1)
        rates = (confusion + 0.5) / (confusion + 0.5).sum(axis=1, keepdims=True)
        for mix in CHECK_MIXES:
            for _ in range(CHECK_TRIALS):
                rows, truth = sample_window(by_class, mix, CHECK_STREAM, rng)
                observed = np.bincount(pred[rows], minlength=3) / CHECK_STREAM
                raw.append(float(np.abs(observed - truth).sum()))
                corrected.append(float(np.abs(solve_shares(observed, rates) - truth).sum()))
    return {"raw": round(float(np.mean(raw)), 4), "corrected": round(float(np.mean(corrected)), 4)}

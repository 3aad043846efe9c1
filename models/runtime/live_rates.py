"""Corrected shares from error rates measured on the live stream: reviewers' labels of a uniform sample of what the
model labelled. numpy only; pure.

The correction is the one in quantify.py (adjusted classify-and-count: the window's predicted shares q = p @ M are
solved for the true shares p), with M measured on reviewed items instead of the bundle's old labelled datasets.
Two things differ from the datasets' case:
- the reviewers are not an oracle. With two reviewers on some items, their agreement a gives their error rate e,
  read as symmetric (an error picks any other label alike): a = (1 − e)² + e² / (k − 1). The reviewed joint counts
  are then un-mixed, J_true = (Rᵀ)⁻¹ J_reviewed with R = (1 − e)·I + e / (k − 1)·(1 − I), before M is read from them.
  Without double reviews, e is taken as 0 (and the interval is as narrow as perfect reviewers would make it);
- items carry weights (the inverse of their inclusion probability), so a sample drawn at a changing rate still
  stands for the stream.
The 95% interval is a bootstrap over all three sources of error: the reviewed items and the double-reviewed pairs
(resampled with replacement) and the window's own counts (their Dirichlet posterior, as in quantify.py).
`tests/unit/models/test_live_rates.py` checks by simulation that the interval covers the true shares at least 90% of
the time with reviewers who err, where the uncorrected shares never do.
"""

from __future__ import annotations

import numpy as np

from models.runtime.quantify import DRAWS, Shares, solve_shares

# Each row of M starts from a prior worth PRIOR_ITEMS reviewed items: the datasets' row where the bundle measured
# one, else a diagonal-heavy guess. A flat prior would be wrong: a label no reviewed item has (no post in favour of a
# candidate in the sample) would get a uniform row, which reproduces any window's predicted mix exactly, and the
# correction would then put every post in that label.
PRIOR_ITEMS = 2.0
DEFAULT_PRIOR = np.array([[0.6, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.2, 0.6]])


def reviewer_error(agreement: float, k: int) -> float:
    """The symmetric per-label error rate e of two independent reviewers who agree on a share `agreement`."""
    disagreement = min(max(1.0 - agreement, 0.0), (k - 1) / k)  # beyond it, agreement is chance level
    return (1.0 - np.sqrt(1.0 - k / (k - 1) * disagreement)) * (k - 1) / k


def unmix(joint: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Joint counts [.., reviewer label, model label] → [.., true label, model label] for reviewers who err at
    `error` [..] (batched over leading axes); negatives from noise are clipped to 0."""
    k = joint.shape[-1]
    e = np.asarray(error, dtype=np.float64)[..., None, None]
    mixing = (1.0 - e) * np.eye(k) + e / (k - 1) * (1.0 - np.eye(k))  # [true, reviewer]
    return np.maximum(np.linalg.solve(np.swapaxes(mixing, -1, -2), joint), 0.0)


def rates_of(joint: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Rows P(model label | true label) from joint counts [.., true, model] and a prior [k, k] of rows (each worth
    PRIOR_ITEMS items)."""
    smoothed = joint + PRIOR_ITEMS * prior
    return smoothed / smoothed.sum(axis=-1, keepdims=True)


def live_corrected_shares(counts: np.ndarray, reviewed: np.ndarray, model: np.ndarray, weights: np.ndarray,
                          pairs: np.ndarray, prior: np.ndarray | None = None, k: int = 3, draws: int = DRAWS,
                          rng: np.random.Generator | None = None) -> Shares | None:
    """Corrected shares of a window's predicted `counts` [k] from reviewed items: their reference labels
    `reviewed` [n] and the model's labels `model` [n] (label indices), their `weights` [n] (1 / inclusion
    probability), and the double-reviewed label `pairs` [m, 2] that measure the reviewers' error; `prior`: rows
    P(model | true) to start from (the datasets', when measured). None when nothing was counted or reviewed."""
    counts = np.asarray(counts, dtype=np.float64)
    reviewed, model = np.asarray(reviewed, dtype=np.int64), np.asarray(model, dtype=np.int64)
    n = len(reviewed)
    if counts.sum() <= 0 or n == 0:
        return None
    rng = rng or np.random.default_rng(0)  # fixed: the same inputs give the same interval on every request
    prior = DEFAULT_PRIOR if prior is None else np.asarray(prior, dtype=np.float64)
    prior = prior / prior.sum(axis=-1, keepdims=True)
    w = np.asarray(weights, dtype=np.float64)
    w = w * n / w.sum()  # weights that add up to the sample's size: counts stay counts
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    cell = reviewed * k + model

    def joint_of(index: np.ndarray) -> np.ndarray:  # [draws, n] item indices → [draws, k, k] weighted joints
        flat = np.arange(len(index))[:, None] * k * k + cell[index]
        return np.bincount(flat.ravel(), weights=w[index].ravel(), minlength=len(index) * k * k).reshape(-1, k, k)

    def error_of(index: np.ndarray) -> np.ndarray:  # [draws, m] pair indices → [draws] error rates
        if not len(pairs):
            return np.zeros(len(index))
        agree = (pairs[index, 0] == pairs[index, 1]).mean(axis=1)
        return np.array([reviewer_error(a, k) for a in agree])

    everything = np.arange(n)[None, :]
    all_pairs = np.arange(len(pairs))[None, :]
    rates = rates_of(unmix(joint_of(everything), error_of(all_pairs)), prior)[0]
    estimate = solve_shares(counts / counts.sum(), rates)
    items = rng.integers(0, n, size=(draws, n))
    pair_draws = rng.integers(0, max(len(pairs), 1), size=(draws, len(pairs)))
    sampled_rates = rates_of(unmix(joint_of(items), error_of(pair_draws)), prior)
    observed = rng.dirichlet(counts + 0.5, size=draws)
    boot = solve_shares(observed, sampled_rates)
    return Shares(estimate, np.percentile(boot, 2.5, axis=0), np.percentile(boot, 97.5, axis=0), boot)

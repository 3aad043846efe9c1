"""Corrected shares from live error rates, validated by simulation: a stream with known true shares, a model with
known error rates, reviewers who err; the nominal 95% interval must cover the truth in at least 90% of runs."""

from __future__ import annotations

import numpy as np
import pytest

from models.runtime.live_rates import live_corrected_shares, reviewer_error, unmix

# P(model label | true label), rows FAVOR, AGAINST, NONE: a model that turns much of the news into stances
MODEL_ERRORS = np.array([[0.72, 0.13, 0.15], [0.10, 0.74, 0.16], [0.22, 0.18, 0.60]])
RUNS = 200


def model_labels(rng: np.random.Generator, true: np.ndarray) -> np.ndarray:
    return (rng.random(len(true))[:, None] > MODEL_ERRORS.cumsum(axis=1)[true]).sum(axis=1)


def reviewer_labels(rng: np.random.Generator, true: np.ndarray, error: float) -> np.ndarray:
    out = true.copy()
    wrong = rng.random(len(true)) < error
    out[wrong] = (true[wrong] + rng.integers(1, 3, wrong.sum())) % 3  # any other label alike
    return out


def coverage(shares: list[float], error: float, window: int = 3000, reviewed: int = 400,
             double: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Per label: how often the interval held the true share, and how often the uncorrected share was within 2
    points of it, over RUNS simulated windows, each with its own reviewed sample."""
    p = np.array(shares)
    rng = np.random.default_rng(7)
    held, raw_close = np.zeros(3), np.zeros(3)
    for run in range(RUNS):
        counts = np.bincount(model_labels(rng, rng.choice(3, window, p=p)), minlength=3)
        true = rng.choice(3, reviewed, p=p)
        reference = reviewer_labels(rng, true, error)
        m = int(double * reviewed)
        pairs = np.stack([reference[:m], reviewer_labels(rng, true[:m], error)], axis=1)
        s = live_corrected_shares(counts, reference, model_labels(rng, true), np.ones(reviewed), pairs,
                                  rng=np.random.default_rng(run))
        assert s is not None
        held += (s.low <= p) & (p <= s.high)
        raw_close += np.abs(counts / counts.sum() - p) < 0.02
    return held / RUNS, raw_close / RUNS


@pytest.mark.parametrize("shares", [[0.15, 0.25, 0.60], [0.35, 0.35, 0.30]], ids=["news-heavy", "balanced"])
@pytest.mark.parametrize("error", [0.1, 0.2], ids=["reviewers-err-10%", "reviewers-err-20%"])
def test_the_interval_covers_the_true_shares_at_least_90_percent_of_the_time(shares: list[float],
                                                                             error: float) -> None:
    held, raw_close = coverage(shares, error)
    assert (held >= 0.90).all(), held
    if shares[2] > 0.5:  # news-heavy: counting the model's labels puts FAVOR near 27% and NONE near 42%
        assert (raw_close[[0, 2]] < 0.05).all(), raw_close


def test_reviewer_agreement_gives_their_error_and_unmixing_inverts_it() -> None:
    for e in (0.0, 0.1, 0.3):
        agreement = (1 - e) ** 2 + e**2 / 2
        assert reviewer_error(agreement, 3) == pytest.approx(e)
    assert reviewer_error(0.2, 3) == pytest.approx(2 / 3)  # below chance: as bad as guessing, not beyond
    true = np.array([[50.0, 10, 5], [8, 60, 12], [20, 15, 70]])
    e = 0.15
    mixing = (1 - e) * np.eye(3) + e / 2 * (1 - np.eye(3))
    assert unmix(mixing.T @ true, np.array(e)) == pytest.approx(true)


def test_nothing_counted_or_nothing_reviewed_gives_none() -> None:
    none = np.zeros((0, 2))
    assert live_corrected_shares(np.zeros(3), np.array([0]), np.array([0]), np.ones(1), none) is None
    assert live_corrected_shares(np.array([1, 2, 3]), np.array([]), np.array([]), np.ones(0), none) is None


def test_a_label_no_reviewed_post_has_does_not_swallow_the_window() -> None:
    """40 reviewed posts, none truly in favour: the model's FAVOR labels are news (NONE). With a flat prior the
    empty FAVOR row was uniform, reproduced any mix exactly, and the correction put every post in favour."""
    model = np.arange(40) % 3
    reference = np.where(model == 1, 1, 2)  # the model's AGAINST is right; its FAVOR and NONE are really NONE
    s = live_corrected_shares(np.array([30, 30, 30]), reference, model, np.ones(40), np.zeros((0, 2)))
    assert s is not None
    assert s.estimate == pytest.approx([0.0, 1 / 3, 2 / 3], abs=0.03)
    assert s.low[0] == 0.0 and s.high[0] < 0.6  # in favour: none seen, so an honest, wide interval from 0

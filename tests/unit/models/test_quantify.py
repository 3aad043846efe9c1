"""Prevalence correction on synthetic streams with known class mixes: the corrected shares are closer to the truth
than raw counting, by a stated margin, at several mixes; the intervals cover the truth about as often as they
claim. The classifier is simulated by its error rates (the quantity the method needs), drawn once from a
realistic confusion matrix; its error rates are then measured on a separate labelled sample, as in production."""

from __future__ import annotations

import numpy as np
import pytest

from models.runtime.calibration import expected_calibration_error, fit_temperature, scale
from models.runtime.quantify import corrected_shares, pooled, project_to_simplex, solve_shares

# P(predicted | true), rows FAVOR, AGAINST, NONE: a model that calls much of NONE a stance, as ours does.
TRUE_RATES = np.array([[0.78, 0.12, 0.10],
                       [0.10, 0.80, 0.10],
                       [0.30, 0.35, 0.35]])
# Calibration examples per true class for one target: about what a dev split gives (NONE is the rare class).
CALIBRATION = (300, 400, 100)
# (mix FAVOR/AGAINST/NONE, the largest allowed corrected error as a fraction of raw counting's). On a live stream
# most posts naming a candidate are news (NONE-rich): there raw counting is far off and the correction must at
# least halve its error. Where the stream looks like the training data (stance-heavy), raw counting's bias is
# small, the correction's own variance dominates, and it may be up to a quarter worse.
CASES = [((0.20, 0.30, 0.50), 0.5), ((0.10, 0.20, 0.70), 0.5), ((0.33, 0.33, 0.34), 0.75),
         ((0.40, 0.40, 0.20), 1.25), ((0.30, 0.60, 0.10), 1.25)]


def simulate(mix: tuple[float, float, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """Predicted-label counts for a stream of n posts whose true labels follow `mix`."""
    true = rng.choice(3, size=n, p=mix)
    pred = np.array([rng.choice(3, p=TRUE_RATES[t]) for t in true])
    return np.bincount(pred, minlength=3)


def calibration_confusion(rng: np.random.Generator, sizes: tuple[int, ...] = CALIBRATION) -> np.ndarray:
    return np.stack([np.bincount(rng.choice(3, size=n, p=row), minlength=3) for n, row in zip(sizes, TRUE_RATES,
                                                                                             strict=True)])


@pytest.mark.parametrize("mix, margin", CASES)
def test_corrected_shares_beat_raw_counting_by_the_stated_margin(mix: tuple[float, float, float],
                                                                margin: float) -> None:
    rng = np.random.default_rng(7)
    raw_err, acc_err, covered = [], [], 0
    trials = 40
    for _ in range(trials):
        confusion = calibration_confusion(rng)
        counts = simulate(mix, 2000, rng)  # a busy window
        shares = corrected_shares(counts, confusion, rng=rng)
        assert shares is not None
        raw_err.append(np.abs(counts / counts.sum() - mix).sum())  # total absolute error over the three shares
        acc_err.append(np.abs(shares.estimate - mix).sum())
        covered += bool(np.all((shares.low <= mix) & (np.asarray(mix) <= shares.high)))
    assert np.mean(acc_err) < margin * np.mean(raw_err), (np.mean(acc_err), np.mean(raw_err))
    assert covered >= 0.8 * trials  # three 95% intervals at once: most windows cover all three shares


def test_the_interval_is_wide_when_there_are_few_posts() -> None:
    rng = np.random.default_rng(1)
    confusion = calibration_confusion(rng)
    few = corrected_shares(np.array([3, 4, 3]), confusion, rng=np.random.default_rng(0))
    many = corrected_shares(np.array([300, 400, 300]), confusion, rng=np.random.default_rng(0))
    assert few is not None and many is not None
    assert (few.high - few.low).mean() > 2 * (many.high - many.low).mean()
    assert corrected_shares(np.zeros(3), confusion) is None


def test_shares_stay_on_the_simplex_when_the_exact_solution_would_not() -> None:
    p = solve_shares(np.array([0.9, 0.05, 0.05]), TRUE_RATES)  # more FAVOR than any true mix can produce
    assert np.all(p >= 0) and p.sum() == pytest.approx(1.0) and p.argmax() == 0
    assert project_to_simplex(np.array([[2.0, 0.0, -1.0]])).tolist() == [[1.0, 0.0, 0.0]]


def test_a_party_pools_its_targets_weighted_by_their_counts() -> None:
    rng = np.random.default_rng(3)
    confusion = calibration_confusion(rng)
    a = corrected_shares(np.array([100, 0, 0]), confusion, rng=rng)
    b = corrected_shares(np.array([0, 300, 0]), confusion, rng=rng)
    assert a is not None and b is not None
    party = pooled([(100.0, a), (300.0, b)])
    assert party is not None
    assert party.estimate == pytest.approx(0.25 * a.estimate + 0.75 * b.estimate)
    assert np.all(party.low <= party.estimate + 1e-9) and np.all(party.estimate <= party.high + 1e-9)


def test_temperature_scaling_makes_overconfident_probabilities_honest_and_keeps_the_labels() -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, size=3000)
    logits = rng.normal(size=(3000, 3))
    logits[np.arange(3000), gold] += 1.0
    honest = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    overconfident = scale(honest, 0.4)  # the same ranking, far too sure
    t = fit_temperature(overconfident, gold)
    assert 2.0 < t < 3.2  # undoes the 0.4
    fixed = scale(overconfident, t)
    assert (fixed.argmax(axis=1) == overconfident.argmax(axis=1)).all()
    assert expected_calibration_error(fixed, gold) < 0.5 * expected_calibration_error(overconfident, gold)

"""Prevalence correction on synthetic streams with known class mixes: the corrected shares are closer to the truth
than raw counting, by a stated margin, at several mixes; the intervals cover the truth about as often as they
claim. The classifier is simulated by its error rates (the quantity the method needs), drawn once from a
realistic confusion matrix; its error rates are then measured on a separate labelled sample, as in production."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluation.calibration_fit import expected_calibration_error, fit_calibration, fit_temperature
from models.evaluation.share_check import correction_check
from models.runtime.calibration import Calibration, scale
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


def labelled_rows(n: int, rates: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(gold, predicted) for n labelled posts of a model with these error rates."""
    gold = rng.choice(3, size=n, p=[0.4, 0.4, 0.2])
    return gold, np.array([rng.choice(3, p=rates[g]) for g in gold])


# A model that calls most of FAVOR and NONE the other way round from TRUE_RATES: pooled with a set scored like
# TRUE_RATES, the halves' error rates disagree, as sets pooled for one target can.
OTHER_RATES = np.array([[0.30, 0.10, 0.60],
                        [0.10, 0.80, 0.10],
                        [0.05, 0.05, 0.90]])


def test_the_check_passes_error_rates_that_carry_and_fails_ones_that_do_not() -> None:
    rng = np.random.default_rng(5)
    gold, pred = labelled_rows(2000, TRUE_RATES, rng)
    same = correction_check(pred, gold, rng.integers(0, 2, size=2000))
    assert same is not None and same["corrected"] < 0.6 * same["raw"]

    g0, p0 = labelled_rows(1000, TRUE_RATES, rng)
    g1, p1 = labelled_rows(1000, OTHER_RATES, rng)
    halves = np.repeat([0, 1], 1000)  # each half measured by the other, which errs differently
    differ = correction_check(np.r_[p0, p1], np.r_[g0, g1], halves)
    assert differ is not None and differ["corrected"] > differ["raw"]

    g, p = labelled_rows(60, TRUE_RATES, rng)  # a dozen NONE: too few for a half to stand for a stream
    assert correction_check(p, g, rng.integers(0, 2, size=60)) is None


def test_calibration_serves_shares_only_where_the_check_passed() -> None:
    rng = np.random.default_rng(6)
    rows: list[tuple[str, int, int, int]] = []  # (target, gold, predicted, fold)
    g, p = labelled_rows(2000, TRUE_RATES, rng)
    rows += [("Joe Biden", a, b, f) for a, b, f in zip(g, p, rng.integers(0, 2, size=2000), strict=True)]
    g0, p0 = labelled_rows(1000, TRUE_RATES, rng)
    g1, p1 = labelled_rows(1000, OTHER_RATES, rng)
    rows += [("Hillary Clinton", a, b, f) for a, b, f in zip(np.r_[g0, g1], np.r_[p0, p1], np.repeat([0, 1], 1000),
                                                             strict=True)]
    g, p = labelled_rows(80, TRUE_RATES, rng)
    rows += [("Bernie Sanders", a, b, f) for a, b, f in zip(g, p, rng.integers(0, 2, size=80), strict=True)]
    labels = ["FAVOR", "AGAINST", "NONE"]
    probs = np.full((len(rows), 3), 0.01)
    probs[np.arange(len(rows)), [r[2] for r in rows]] = 0.98  # sure enough that no NONE weight changes a label
    meta = fit_calibration(probs, [labels[r[1]] for r in rows], [r[0] for r in rows], labels, "test",
                           folds=[r[3] for r in rows])

    served = {t: v["serve_shares"] for t, v in meta["targets"].items()}
    assert served == {"Joe Biden": True, "Hillary Clinton": False, "Bernie Sanders": False}
    assert meta["targets"]["Bernie Sanders"]["shares_check"] is None  # too few rows of a class in a half
    calibration = Calibration.from_meta(meta, labels)
    assert calibration is not None
    assert not calibration.targets["Hillary Clinton"].serve_shares and calibration.targets["Joe Biden"].serve_shares

from __future__ import annotations

import itertools

import pytest

from models.training.schedule import discriminative_lrs, stlr, unfrozen_groups


def test_stlr_rises_to_the_peak_at_cut_then_falls_to_lr_over_ratio() -> None:
    total, lr = 1000, 0.01
    assert stlr(0, total, lr) == pytest.approx(lr / 32)
    assert stlr(100, total, lr) == pytest.approx(lr)  # cut_frac 0.1
    assert stlr(999, total, lr) == pytest.approx(lr / 32, rel=0.05)
    rising = [stlr(s, total, lr) for s in range(0, 101)]
    falling = [stlr(s, total, lr) for s in range(100, 1000)]
    assert rising == sorted(rising) and falling == sorted(falling, reverse=True)
    # The paper's equation: at half-way of the decay, p = 0.5
    assert stlr(550, total, lr) == pytest.approx(lr * (1 + 0.5 * 31) / 32)


def test_stlr_rejects_an_empty_schedule() -> None:
    with pytest.raises(ValueError):
        stlr(0, 0, 0.01)


def test_discriminative_rates_divide_by_2_6_per_group_down() -> None:
    lrs = discriminative_lrs(0.01, 5)
    assert lrs[-1] == pytest.approx(0.01)
    assert lrs[0] == pytest.approx(0.01 / 2.6**4)
    for lower, upper in itertools.pairwise(lrs):
        assert upper / lower == pytest.approx(2.6)


def test_gradual_unfreezing_adds_one_group_per_epoch() -> None:
    assert [unfrozen_groups(e, 5) for e in range(7)] == [1, 2, 3, 4, 5, 5, 5]

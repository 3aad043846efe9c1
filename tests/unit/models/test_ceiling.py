"""The bundle-averaging ceiling: every subset is scored on the mean of its bundles' probabilities."""

from __future__ import annotations

import numpy as np

from models.evaluation.data import LABELS, Example
from models.research.ceiling import TWO_CLASS, subset_figures


def test_two_bundles_wrong_on_different_tweets_are_right_together() -> None:
    examples = [Example(f"t{i}", "Joe Biden", label) for i, label in enumerate(["FAVOR", "AGAINST"] * 4)]
    gold = np.array([LABELS.index(e.label) for e in examples])
    right = np.full((len(examples), 3), 0.05)
    right[np.arange(len(examples)), gold] = 0.9
    other = np.where(gold == 0, 1, 0)  # FAVOR ↔ AGAINST
    wrong = np.full((len(examples), 3), 0.05)
    wrong[np.arange(len(examples)), other] = 0.6
    wrong[np.arange(len(examples)), gold] = 0.35
    a, b = right.copy(), right.copy()
    a[:4], b[4:] = wrong[:4], wrong[4:]  # each confidently right where the other is mildly wrong

    rows = subset_figures({"a": {TWO_CLASS: a}, "b": {TWO_CLASS: b}}, {TWO_CLASS: examples}, LABELS)

    assert [r["bundles"] for r in rows] == [["a"], ["b"], ["a", "b"]]
    assert rows[0][TWO_CLASS]["f_avg"] < 100 and rows[1][TWO_CLASS]["f_avg"] < 100
    assert rows[2][TWO_CLASS]["f_avg"] == 100.0
    assert rows[2][TWO_CLASS]["per_target"] == {"Joe Biden": 100.0}

"""The paired comparison a retrained bundle must pass on held-out live labels, and the stand-in labels that rehearse
it before reviewers have labelled anything."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np

from models.evaluation.data import read_csv
from models.evaluation.evaluate import stance_metrics
from models.evaluation.live_comparison import paired_bootstrap
from models.research.stand_in_labels import main as stand_in_main
from models.runtime.agreement import macro_f1_interval, resampled_metrics
from models.runtime.labels import LABELS, held_out


def test_the_resampled_metrics_equal_the_evaluation_figures_on_the_whole_sample() -> None:
    rng = random.Random(3)
    gold = [rng.choice(LABELS) for _ in range(300)]
    pred = [g if rng.random() < 0.6 else rng.choice(LABELS) for g in gold]
    index = {label: k for k, label in enumerate(LABELS)}
    whole = resampled_metrics(np.array([index[x] for x in gold]), np.array([index[x] for x in pred]),
                              np.arange(len(gold))[None, :])
    expected = stance_metrics(gold, pred, list(LABELS))
    for metric in ("accuracy", "macro_f1", "f_avg"):
        assert round(float(whole[metric][0]), 2) == expected[metric]
    interval = macro_f1_interval(gold, pred)
    assert interval is not None and interval[0] == expected["macro_f1"]
    assert interval[1] < interval[0] < interval[2] and interval[2] - interval[1] < 20  # 300 posts: a few points
    assert macro_f1_interval([], []) is None


def test_a_better_bundle_is_better_beyond_the_interval_and_an_equal_one_is_not() -> None:
    rng = random.Random(7)
    gold = [rng.choice(LABELS) for _ in range(400)]
    good = [g if rng.random() < 0.85 else rng.choice(LABELS) for g in gold]
    poor = [g if rng.random() < 0.45 else rng.choice(LABELS) for g in gold]
    better = paired_bootstrap(gold, good, poor, reps=500)
    for metric, d in better.items():
        assert d["interval"][0] > 0, metric
        assert d["new_better_share"] == 1.0
    same = paired_bootstrap(gold, poor, poor, reps=200)
    assert all(d == {"difference": 0.0, "interval": [0.0, 0.0], "new_better_share": 0.0} for d in same.values())
    # two bundles that differ only by chance on a few posts: the interval straddles zero
    noisy = [p if rng.random() < 0.97 else rng.choice(LABELS) for p in poor]
    assert paired_bootstrap(gold, noisy, poor, reps=500)["macro_f1"]["interval"][0] < 0


def test_stand_in_labels_come_once_per_text_split_by_post_id_like_the_export(tmp_path: Path) -> None:
    gop = tmp_path / "gop_debate_sentiment" / "Sentiment.csv"
    gop.parent.mkdir(parents=True)
    rows = [("Trump won the night", "Donald Trump", "Positive", "1.0", "101"),
            ("RT @fan: Trump won the night", "Donald Trump", "Positive", "1.0", "102"),  # a retweet: kept once
            ("Trump was a disaster", "Donald Trump", "Negative", "0.7", "103"),
            ("Trump spoke about trade", "Donald Trump", "Neutral", "0.66", "104"),
            ("Trump maybe good?", "Donald Trump", "Positive", "0.35", "105"),  # the crowd did not agree
            ("Jeb was calm", "Jeb Bush", "Positive", "1.0", "106")]  # another candidate
    with gop.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["candidate", "sentiment", "sentiment_confidence", "text", "tweet_id"])
        out.writerows((c, s, conf, text, tid) for text, c, s, conf, tid in rows)
    labels, held = tmp_path / "labels.csv", tmp_path / "held.csv"
    assert stand_in_main(["--data-dir", str(tmp_path), "--out", str(labels), "--holdout-out", str(held),
                          "--holdout", "0.5"]) == 0
    written = {(e.text, e.label) for e in read_csv(labels) + read_csv(held)}
    assert written == {("Trump won the night", "FAVOR"), ("Trump was a disaster", "AGAINST"),
                       ("Trump spoke about trade", "NONE")}
    with held.open(encoding="utf-8") as fh:
        held_ids = {row["id"] for row in csv.DictReader(fh)}
    assert held_ids == {i for i in ("101", "103", "104") if held_out(i, 0.5)}

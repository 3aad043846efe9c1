"""Self-training's data steps: which unlabelled tweets the teacher may label, and which of its labels are kept."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from models.evaluation.data import read_csv
from models.research.self_train import TARGET, pseudo_labels, unlabelled
from models.runtime.bundle import Bundle
from models.runtime.predictor import StanceModel
from models.training.corpus import DataDir, leak_key
from models.training.fixture_bundle import FIXTURE_CSV


def test_only_served_none_above_the_confidence_is_kept_most_confident_first(fixture_bundle: Bundle) -> None:
    teacher = StanceModel(fixture_bundle, prefer_gpu=False)
    texts = [e.text for e in read_csv(FIXTURE_CSV)]
    probs = teacher.predict(texts, [TARGET] * len(texts))
    none = teacher.labels.index("NONE")
    served_none = teacher.decide(probs, [TARGET] * len(texts)) == none
    threshold = float(np.median(probs[served_none, none]))  # some of the served NONE pass, some do not
    eligible = served_none & (probs[:, none] >= threshold)
    assert 0 < eligible.sum() < served_none.sum()

    kept = pseudo_labels(teacher, texts, threshold, max_extra=len(texts))
    assert {e.text for e in kept} == {texts[i] for i in np.flatnonzero(eligible)}
    assert all(e.label == "NONE" and e.target == TARGET for e in kept)
    p_kept = [probs[texts.index(e.text), none] for e in kept]
    assert p_kept == sorted(p_kept, reverse=True)

    capped = pseudo_labels(teacher, texts, threshold, max_extra=3)
    assert [e.text for e in capped] == [e.text for e in kept[:3]]


def test_the_pool_is_tweets_naming_trump_once_each_and_none_already_seen(tmp_path: Path) -> None:
    (tmp_path / "pstance").mkdir()  # what marks a data folder
    gop = tmp_path / "gop_debate_sentiment" / "Sentiment.csv"
    gop.parent.mkdir(parents=True)
    with gop.open("w", newline="") as fh:
        csv.writer(fh).writerows([["text"], ["Trump owned the debate"], ["Jeb looked tired"],
                                  ["TRUMP owned the debate!"], ["Trump talks walls again"]])
    auto = tmp_path / "semeval2016_trump_autolabelled" / "trump_autolabelled.txt"
    auto.parent.mkdir(parents=True)
    auto.write_text("0\tDonald Trump\ttrump for president\tFAVOR\n1\tDonald Trump\tTrump talks walls again\tNONE\n")

    pool = unlabelled(DataDir(tmp_path), seen={leak_key("trump for president")})
    # a case and punctuation variant is the same tweet; a training tweet is not unlabelled; Jeb is not about Trump
    assert pool == ["Trump owned the debate", "Trump talks walls again"]


def test_plain_self_training_takes_each_served_label_capped_per_label(fixture_bundle: Bundle) -> None:
    teacher = StanceModel(fixture_bundle, prefer_gpu=False)
    texts = [e.text for e in read_csv(FIXTURE_CSV)]
    probs = teacher.predict(texts, [TARGET] * len(texts))
    served = teacher.decide(probs, [TARGET] * len(texts))
    taken = pseudo_labels(teacher, texts, 0.0, max_extra=2, labels=teacher.labels)
    for k, label in enumerate(teacher.labels):
        of_label = [e.text for e in taken if e.label == label]
        assert len(of_label) == min(2, int((served == k).sum()))
        assert all(served[texts.index(t)] == k for t in of_label)

"""Word contributions: exact for the n-gram half (they sum to the label's centred logit), and consistent with the
prediction for the whole ensemble (occlusion); on the shipped bundle."""

from __future__ import annotations

import numpy as np
import pytest

from models.runtime.bundle import find_release_bundle, load_bundle
from models.runtime.explain import ngram_words, occlusion, top_words
from models.runtime.ngram import NgramScorer, prepare
from models.runtime.predictor import StanceModel

TWEETS = [("Bernie Sanders is the only honest one, feel the bern #Bernie2020", "Bernie Sanders"),
          ("Trump is a liar and a fraud, lock him up", "Donald Trump"),
          ("Biden visits Ohio today to talk about jobs", "Joe Biden"),
          ("Biden Biden Biden: proud to vote for Joe Biden!", "Joe Biden")]

pytestmark = pytest.mark.skipif(find_release_bundle() is None, reason="no shipped bundle in models/release/")


@pytest.fixture(scope="module")
def scorer() -> NgramScorer:
    bundle = load_bundle(find_release_bundle())  # type: ignore[arg-type]
    return NgramScorer.load(bundle.ngram_path, bundle.meta.labels)


@pytest.mark.parametrize("text, target", TWEETS)
def test_ngram_contributions_sum_exactly_to_the_centred_logit(scorer: NgramScorer, text: str, target: str) -> None:
    table = scorer.tables[target]
    logits = table.logits([prepare(text)])[0]
    for label in range(len(scorer.labels)):
        words, intercept = ngram_words(table, text, label)
        assert sum(c for _, c in words) + intercept == pytest.approx(logits[label] - logits.mean(), abs=1e-6)
    assert [w for w, _ in words] == prepare(text).split()


def test_the_top_words_point_the_way_of_the_label() -> None:
    bundle = load_bundle(find_release_bundle())  # type: ignore[arg-type]
    model = StanceModel(bundle, prefer_gpu=False)
    scorer = NgramScorer.load(bundle.ngram_path, bundle.meta.labels)
    text, target = TWEETS[1]
    label = int(model.predict([text], [target])[0].argmax())
    assert model.labels[label] == "AGAINST"
    top = top_words(ngram_words(scorer.tables[target], text, label)[0], k=3)
    assert {"liar", "fraud"} & {w.strip(",") for w, c in top if c > 0}
    drops = occlusion(model.predict, text, target, label)
    assert len(drops) == len(text.split())
    # leaving out the words the n-grams blame lowers the ensemble's confidence in the label
    assert max(c for w, c in drops if w.strip(",") in {"liar", "fraud"}) > 0
    assert np.isclose(sum(1 for _ in drops), 10)

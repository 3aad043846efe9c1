"""Word contributions: exact for the n-gram half (they sum to the label's centred logit), and consistent with the
prediction for the whole ensemble (occlusion); on the shipped bundle."""

from __future__ import annotations

import numpy as np
import pytest

from models.runtime.bundle import find_release_bundle, load_bundle
from models.runtime.explain import ngram_words, occlusion, occlusion_batch, top_words
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


def test_a_batch_explains_its_newest_pairs_the_newest_for_the_whole_model() -> None:
    model = StanceModel(load_bundle(find_release_bundle()), prefer_gpu=False)  # type: ignore[arg-type]
    texts, targets = [t for t, _ in TWEETS], [g for _, g in TWEETS]
    labels = [int(r.argmax()) for r in model.predict(texts, targets)]
    found = model.explain_batch(texts, targets, labels, explain_last=3, occlude_last=1)
    assert found[0] is None and [f[0] for f in found[1:] if f] == ["ngram", "ngram", "occlusion"]
    # the newest is the occluded one: its words match what occlusion of the whole model gives on its own
    alone = top_words(occlusion(model.predict, texts[3], targets[3], labels[3]), 6)
    assert found[3] is not None and found[3][1] == [(w.lower(), c) for w, c in alone]
    # and batching the occlusion of several posts gives each post's own figures
    both = occlusion_batch(model.predict, [(texts[1], targets[1], labels[1]), (texts[3], targets[3], labels[3])])
    single = occlusion(model.predict, texts[1], targets[1], labels[1])
    assert [w for w, _ in both[0]] == [w.lower() for w, _ in single]
    assert [c for _, c in both[0]] == pytest.approx([c for _, c in single], abs=5e-3)
    # (not equal: the int8 graph quantises activations per run, so a row moves by ~1e-3 with its batch-mates)

"""Infer's scoring policy (services/infer/scoring.py): which routes are scored, how a failing batch is narrowed to
the pairs that fail alone (and a batch where every pair fails raises: a broken model, not a bad record), that the
served label is the model's decision, and which pairs are explained. The model is a stand-in whose predict fails
on chosen texts and whose decision differs from the argmax: the policy is ours; the real model's side is tested
with the fixture bundle (tests/unit/models, tests/integration)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from services.common.schemas import RawTweet, Route, ScoredTweet
from services.infer.scoring import BatchScorer, Failed, Pair, split_routes

TARGETS = {"Joe Biden", "Donald Trump"}


class Model:
    version = "stand-in-1"

    def __init__(self, bad: Sequence[str] = (), explain_fails: bool = False) -> None:
        self.labels, self.targets = ["FAVOR", "AGAINST", "NONE"], set(TARGETS)
        self.bad, self.explain_fails = set(bad), explain_fails
        self.explained: list[str] = []

    def predict(self, texts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        if any(t in self.bad for t in texts):
            raise ValueError("cannot score")
        return np.tile(np.array([0.5, 0.1, 0.4]), (len(texts), 1))

    def decide(self, probs: np.ndarray, targets: Sequence[str]) -> np.ndarray:
        return np.full(len(probs), 2)  # NONE: a decision weight, not the argmax (FAVOR)

    def explain_batch(self, texts: Sequence[str], targets: Sequence[str], labels: Sequence[int], explain_last: int,
                      occlude_last: int) -> list[Any]:
        if self.explain_fails:
            raise MemoryError("explaining")
        self.explained = list(texts)
        return [("ngram", [(t, 1.0)]) for t in texts]


def tweet(text: str, *targets: str) -> RawTweet:
    parties = {"Joe Biden": "Democrats", "Donald Trump": "Republicans", "Kamala Harris": "Democrats"}
    return RawTweet(id=f"id-{text}", text=text, ingested_at=1_800_000_000.0,
                    routes=[Route(target=t, party=parties[t]) for t in targets])


def pairs(*texts: str) -> list[Pair]:
    return [split_routes(None, tweet(t, "Joe Biden"), TARGETS)[0][0] for t in texts]


def test_routes_the_model_was_not_trained_for_are_left_unrated() -> None:
    scored, unrated = split_routes("rec", tweet("all three", "Joe Biden", "Kamala Harris", "Donald Trump"),
                                   TARGETS)
    assert [p.target for p in scored] == ["Joe Biden", "Donald Trump"]
    assert [(p.target, p.party, p.record) for p in unrated] == [("Kamala Harris", "Democrats", "rec")]
    # the post counts once per party: on its first route there, rated or not
    assert [p.first_for_party for p in scored] == [True, True] and not unrated[0].first_for_party
    unrated_record = BatchScorer(Model()).unrated(unrated[0], now=1.0)
    assert (unrated_record.label, unrated_record.probs, unrated_record.model_version) == ("UNRATED", {}, "stand-in-1")
    assert not unrated_record.first_for_party
    harris_first = split_routes("rec", tweet("two", "Kamala Harris", "Joe Biden"), TARGETS)
    assert [p.first_for_party for p in harris_first[1] + harris_first[0]] == [True, False]


def test_only_the_pair_that_fails_alone_is_lost() -> None:
    scorer = BatchScorer(Model({"poison"}))
    batch = pairs("fine", "poison", "also fine")
    rows = scorer.probabilities(batch)
    assert [isinstance(r, Exception) for r in rows] == [False, True, False]
    out = scorer.records(batch, rows, now=2.0)
    assert isinstance(out[1], Failed) and out[1].pair is batch[1] and out[1].detail == "ValueError: cannot score"
    assert all(isinstance(o, ScoredTweet) for o in (out[0], out[2]))


def test_a_batch_where_every_pair_fails_raises() -> None:
    with pytest.raises(RuntimeError, match="every pair"):
        BatchScorer(Model({"a", "b"})).probabilities(pairs("a", "b"))


def test_the_served_label_is_the_models_decision_with_its_probabilities() -> None:
    scorer = BatchScorer(Model())
    batch = pairs("a")
    (out,) = scorer.records(batch, scorer.probabilities(batch), now=3.0)
    assert isinstance(out, ScoredTweet)
    assert out.label == "NONE" and out.probs == {"FAVOR": 0.5, "AGAINST": 0.1, "NONE": 0.4}
    assert (out.id, out.target, out.party, out.scored_at) == ("id-a", "Joe Biden", "Democrats", 3.0)
    assert (out.explanation_method, out.explanation) == ("ngram", [("a", 1.0)])


def test_explanations_skip_failed_rows_and_a_failing_explainer_costs_only_the_explanations() -> None:
    batch = pairs("a", "poison", "b")
    rows: list[np.ndarray | Exception] = [np.array([0.2, 0.5, 0.3]), ValueError("cannot score"),
                                          np.array([0.6, 0.2, 0.2])]
    model = Model()
    assert BatchScorer(model).explain(batch, rows, [1, -1, 0]) == [
        ("ngram", [("a", 1.0)]), None, ("ngram", [("b", 1.0)])]
    assert model.explained == ["a", "b"]  # a pair that could not be scored is not explained
    assert BatchScorer(Model(explain_fails=True)).explain(batch, rows, [1, -1, 0]) == [None, None, None]
    assert BatchScorer(Model(), explain_per_batch=0).explain(batch, rows, [1, -1, 0]) == [None, None, None]

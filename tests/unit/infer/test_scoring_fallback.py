"""How infer scores a batch that fails: pair by pair, dead-lettering only the pairs that fail alone, and raising
(no commit) when every pair fails, which is a broken model or runtime rather than a bad record. The model is a
stand-in whose predict fails on chosen texts: the policy is ours, ONNX Runtime's side is tested elsewhere."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from services.infer.app import InferLoop, Pair


class Model:
    def __init__(self, bad: set[str]) -> None:
        self.bad = bad

    def predict(self, texts: list[str], targets: list[str]) -> np.ndarray:
        if any(t in self.bad for t in texts):
            raise ValueError("cannot score")
        return np.full((len(texts), 3), 1 / 3)


def pairs(*texts: str) -> list[Pair]:
    return [Pair(None, SimpleNamespace(text=t), "Joe Biden", "Democrats") for t in texts]  # type: ignore[arg-type]


def scorer(bad: set[str]) -> Any:
    loop = InferLoop.__new__(InferLoop)
    loop.model = Model(bad)  # type: ignore[assignment]
    return loop


def test_only_the_pair_that_fails_alone_is_marked() -> None:
    rows = scorer({"poison"})._score(pairs("fine", "poison", "also fine"))
    assert [isinstance(r, Exception) for r in rows] == [False, True, False]


def test_a_batch_where_every_pair_fails_raises() -> None:
    with pytest.raises(RuntimeError, match="every pair"):
        scorer({"a", "b"})._score(pairs("a", "b"))


def test_explanations_skip_failed_rows_and_a_failing_explainer_costs_only_the_explanations() -> None:
    class Explaining(Model):
        def __init__(self, fail: bool) -> None:
            super().__init__(set())
            self.fail = fail
            self.asked: list[str] = []

        def explain_batch(self, texts: list[str], targets: list[str], labels: list[int], explain_last: int,
                          occlude_last: int) -> list[Any]:
            if self.fail:
                raise MemoryError("explaining")
            self.asked = texts
            return [("ngram", [(t, 1.0)]) for t in texts]

    loop = scorer(set())
    loop.explain_per_batch, loop.occlude_per_batch = 16, 1
    batch = pairs("a", "poison", "b")
    rows = [np.array([0.2, 0.5, 0.3]), ValueError("cannot score"), np.array([0.6, 0.2, 0.2])]
    loop.model = explaining = Explaining(fail=False)  # type: ignore[assignment]
    assert loop._explain(batch, rows, [1, -1, 0]) == [("ngram", [("a", 1.0)]), None, ("ngram", [("b", 1.0)])]
    assert explaining.asked == ["a", "b"]  # a pair that could not be scored is not explained
    loop.model = Explaining(fail=True)  # type: ignore[assignment]
    assert loop._explain(batch, rows, [1, -1, 0]) == [None, None, None]

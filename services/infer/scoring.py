"""The scoring policy, with no I/O: which routes of a post are scored, how a failing batch is narrowed to the pairs
that fail alone, which label is served (the model's decision: its NONE weight, not a bare argmax), which pairs
carry explanations, and the scored records. Consuming, producing, dead letters and commits are app.InferLoop's."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from services.common.schemas import UNRATED, RawTweet, ScoredTweet

log = logging.getLogger(__name__)

Explanation = tuple[str, list[tuple[str, float]]]  # (method, top words with weights)


class Model(Protocol):
    """What scoring needs of a model (models/runtime/predictor.StanceModel)."""

    labels: list[str]
    targets: set[str]

    @property
    def version(self) -> str: ...

    def predict(self, texts: Sequence[str], targets: Sequence[str]) -> np.ndarray: ...

    def decide(self, probs: np.ndarray, targets: Sequence[str]) -> np.ndarray: ...

    def explain_batch(self, texts: Sequence[str], targets: Sequence[str], labels: Sequence[int], explain_last: int,
                      occlude_last: int) -> list[Any]: ...


@dataclass(frozen=True)
class Pair:
    """One route of a post: the post about one target."""

    record: Any  # the consumed message, for the dead-letter topic
    tweet: RawTweet
    target: str
    party: str
    first_for_party: bool = True  # the post's first route to this party: it counts the post for the party
    first_route: bool = True  # the post's first route: it counts the post for its source


@dataclass(frozen=True)
class Failed:
    """A pair that could not be scored alone: it goes to the dead-letter topic."""

    pair: Pair
    detail: str


def split_routes(record: Any, tweet: RawTweet, scored_targets: set[str]) -> tuple[list[Pair], list[Pair]]:
    """(pairs the model scores, pairs it was not trained for: counted as UNRATED, so readers see how much of a
    target goes unscored)."""
    scored: list[Pair] = []
    unrated: list[Pair] = []
    parties: set[str] = set()
    for index, route in enumerate(tweet.routes):
        pair = Pair(record, tweet, route.target, route.party, first_for_party=route.party not in parties,
                    first_route=index == 0)
        parties.add(route.party)
        (scored if route.target in scored_targets else unrated).append(pair)
    return scored, unrated


@dataclass(frozen=True)
class Scores:
    """What the model computed for a batch, a row per pair: probabilities (or the exception of a pair that could
    not be scored), served label indices (-1 for those), explanations (None where not chosen or failed)."""

    rows: list[np.ndarray | Exception]
    decided: list[int]
    explanations: list[Explanation | None]


class BatchScorer:
    def __init__(self, model: Model, explain_per_batch: int = 16, occlude_per_batch: int = 1) -> None:
        self.model, self.explain_per_batch, self.occlude_per_batch = model, explain_per_batch, occlude_per_batch

    def probabilities(self, pairs: Sequence[Pair]) -> list[np.ndarray | Exception]:
        """A probability row per pair. If the batch fails, each pair is scored alone, so only a pair that cannot
        be scored (its exception in place of its row) is lost to the dead-letter topic."""
        texts, targets = [p.tweet.text for p in pairs], [p.target for p in pairs]
        try:
            return list(self.model.predict(texts, targets))
        except Exception:
            log.exception("a batch of %d pairs failed to score; scoring them one by one", len(pairs))
        rows: list[np.ndarray | Exception] = []
        for text, target in zip(texts, targets, strict=True):
            try:
                rows.append(self.model.predict([text], [target])[0])
            except Exception as exc:
                rows.append(exc)
        failures = [r for r in rows if isinstance(r, Exception)]
        if len(rows) > 1 and len(failures) == len(rows):
            # Not one bad record but a broken model or runtime: dead-lettering the batch would lose it. Raising
            # stops the loop without committing; the restarted worker re-reads the batch.
            raise RuntimeError(f"every pair of the batch failed to score: {failures[0]}") from failures[0]
        return rows

    def decide(self, pairs: Sequence[Pair], rows: Sequence[np.ndarray | Exception]) -> list[int]:
        """The served label index of every scored row, in one call; -1 for the rows that could not be scored."""
        ok = [(i, row) for i, row in enumerate(rows) if not isinstance(row, Exception)]
        out = [-1] * len(rows)
        if ok:
            chosen = self.model.decide(np.stack([row for _, row in ok]), [pairs[i].target for i, _ in ok])
            for (i, _), label in zip(ok, chosen, strict=True):
                out[i] = int(label)
        return out

    def explain(self, pairs: Sequence[Pair], rows: Sequence[np.ndarray | Exception],
                decided: Sequence[int]) -> list[Explanation | None]:
        """Explanations for the newest scored pairs (the heads of the recent lists). Best effort: a failure costs
        the explanations, never the records."""
        ok = [i for i, row in enumerate(rows) if not isinstance(row, Exception)]
        out: list[Explanation | None] = [None] * len(pairs)
        if not ok or self.explain_per_batch <= 0:
            return out
        try:
            found = self.model.explain_batch([pairs[i].tweet.text for i in ok], [pairs[i].target for i in ok],
                                             [decided[i] for i in ok], self.explain_per_batch,
                                             self.occlude_per_batch)
        except Exception:
            log.exception("explaining a batch failed; its records go out without explanations")
            return out
        for i, explanation in zip(ok, found, strict=True):
            out[i] = explanation
        return out

    def label_and_explain(self, pairs: Sequence[Pair], rows: list[np.ndarray | Exception]) -> Scores:
        """The served labels and the explanations of scored rows: with `probabilities`, the model's share of a
        batch's work, which InferLoop runs beside its own (the graph releases the GIL while it runs)."""
        decided = self.decide(pairs, rows)
        return Scores(rows, decided, self.explain(pairs, rows, decided))

    def records(self, pairs: Sequence[Pair], rows: list[np.ndarray | Exception],
                now: float) -> list[ScoredTweet | Failed]:
        """The scored record of each pair (label decided, explained where chosen), or why it failed."""
        return self.build(pairs, self.label_and_explain(pairs, rows), now)

    def build(self, pairs: Sequence[Pair], scores: Scores, now: float) -> list[ScoredTweet | Failed]:
        """The scored records of a batch from what the model computed for it (no model call)."""
        out: list[ScoredTweet | Failed] = []
        for pair, row, index, explanation in zip(pairs, scores.rows, scores.decided, scores.explanations,
                                                 strict=True):
            if isinstance(row, Exception):
                out.append(Failed(pair, f"{type(row).__name__}: {row}"))
                continue
            probs = {lab: round(float(p), 5) for lab, p in zip(self.model.labels, row, strict=True)}
            out.append(self.record(pair, self.model.labels[index], probs, now, explanation))
        return out

    def unrated(self, pair: Pair, now: float) -> ScoredTweet:
        return self.record(pair, UNRATED, {}, now, None)

    def record(self, pair: Pair, label: str, probs: dict[str, float], now: float,
               explanation: Explanation | None) -> ScoredTweet:
        return ScoredTweet(
            id=pair.tweet.id, target=pair.target, party=pair.party, label=label,  # type: ignore[arg-type]
            probs=probs, model_version=self.model.version, text=pair.tweet.text, author=pair.tweet.author,
            source=pair.tweet.source, created_at=pair.tweet.created_at, ingested_at=pair.tweet.ingested_at,
            scored_at=now, explanation=None if explanation is None else explanation[1],
            explanation_method=None if explanation is None else explanation[0],  # type: ignore[arg-type]
            first_for_party=pair.first_for_party, first_route=pair.first_route,
        )

"""What the reviewed sample says about the model on the live stream, per target. Pure: votes in, figures out.

Each reviewed item is a (post, target) pair drawn uniformly from what was counted (services/aggregate/redis_store.py,
review_draw), so the items a target's reviewers labelled are a uniform random sample of its counted pairs, and
their agreement with the model estimates the model's accuracy on the stream itself. The reference label of an item
is its first reviewer's (in time); a second reviewer's label on the same item measures how far reviewers agree
(Cohen's kappa), which bounds how much any accuracy figure can mean.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

STANCES = ("FAVOR", "AGAINST", "NONE")
OFF_TARGET = "OFF_TARGET"  # "not about this target": a routing error; as a stance, it is NONE
SKIP = "SKIP"  # seen, not labelled (unreadable, another language…): kept so it is not shown to that reviewer again
REVIEW_LABELS = (*STANCES, OFF_TARGET, SKIP)
Z95 = 1.959964


@dataclass(frozen=True)
class Vote:
    item: str  # the post's id
    reviewer: str
    label: str  # one of REVIEW_LABELS
    at: float
    model_label: str  # FAVOR / AGAINST / NONE, or UNRATED for a target the model does not rate


@dataclass
class TargetQuality:
    items: int = 0  # items with a reference label (a first vote that is not a skip)
    skipped: int = 0  # items only skipped so far
    reference: Counter[str] = field(default_factory=Counter)  # reference label → items
    confusion: dict[str, Counter[str]] = field(default_factory=dict)  # model label → reference label → items
    rated: int = 0  # items the model rated (not UNRATED)
    correct: int = 0  # of those, where the model's label is the reference's stance (OFF_TARGET read as NONE)
    double_reviewed: int = 0
    kappa: float | None = None  # between the first two reviewers, over items both labelled

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.rated if self.rated else None

    @property
    def accuracy_interval(self) -> tuple[float, float] | None:
        return wilson(self.correct, self.rated) if self.rated else None


def stance_of(label: str) -> str:
    return "NONE" if label == OFF_TARGET else label


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (sound at small n and near 0 or 1, unlike the normal one)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Agreement between two raters beyond chance; None without pairs, 1.0 when both used one label throughout."""
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in first) / (n * n)
    return 1.0 if expected == 1.0 else (observed - expected) / (1 - expected)


def quality(votes: Iterable[Vote]) -> TargetQuality:
    """One target's figures from all its votes."""
    by_item: dict[str, list[Vote]] = {}
    for vote in votes:
        by_item.setdefault(vote.item, []).append(vote)
    out = TargetQuality()
    pairs: list[tuple[str, str]] = []
    for item_votes in by_item.values():
        labelled = sorted((v for v in item_votes if v.label != SKIP), key=lambda v: (v.at, v.reviewer))
        if not labelled:
            out.skipped += 1
            continue
        first = labelled[0]
        out.items += 1
        out.reference[first.label] += 1
        out.confusion.setdefault(first.model_label, Counter())[first.label] += 1
        if first.model_label in STANCES:
            out.rated += 1
            out.correct += first.model_label == stance_of(first.label)
        if len(labelled) > 1:
            pairs.append((first.label, labelled[1].label))
    out.double_reviewed = len(pairs)
    out.kappa = cohen_kappa(pairs)
    return out

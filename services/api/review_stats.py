"""What the reviewed sample says about the model on the live stream, per target. Pure: votes in, figures out.

Each reviewed item is a (post, target) pair drawn at random from what was counted (services/aggregate/redis_store.py,
review_draw), with a known probability (its inclusion: one rate for all, or a rate per model label when the sample
is stratified), so the items a target's reviewers labelled, each weighed by 1 / its inclusion, stand for its counted
pairs, and their agreement with the model estimates the model's accuracy and macro-F1 on the stream itself. The
reference label of an item is its first reviewer's (in time); a second reviewer's label on the same item measures
how far reviewers agree (Cohen's kappa), which bounds how much any accuracy figure can mean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from models.runtime.agreement import macro_f1_interval
from services.api.headline import wilson

STANCES = ("FAVOR", "AGAINST", "NONE")
OFF_TARGET = "OFF_TARGET"  # "not about this target": a routing error; as a stance, it is NONE
SKIP = "SKIP"  # seen, not labelled (unreadable, another language…): kept so it is not shown to that reviewer again
REVIEW_LABELS = (*STANCES, OFF_TARGET, SKIP)


@dataclass(frozen=True)
class Vote:
    item: str  # the post's id
    reviewer: str
    label: str  # one of REVIEW_LABELS
    at: float
    model_label: str  # FAVOR / AGAINST / NONE, or UNRATED for a target the model does not rate
    model_version: str = ""  # the model whose label that is
    inclusion: float = 1.0  # the probability the pair had of being drawn for review


@dataclass
class TargetQuality:
    items: int = 0  # items with a reference label (a first vote that is not a skip)
    skipped: int = 0  # items only skipped so far
    reference: Counter[str] = field(default_factory=Counter)  # reference label → items
    confusion: dict[str, Counter[str]] = field(default_factory=dict)  # model label → reference label → items
    rated: int = 0  # items the model rated (not UNRATED)
    correct: int = 0  # of those, where the model's label is the reference's stance (OFF_TARGET read as NONE)
    # the same weighed by 1 / inclusion (equal weights in a uniform sample): what the estimates use
    weight: float = 0.0
    weight_correct: float = 0.0
    weight_squares: float = 0.0
    double_reviewed: int = 0
    kappa: float | None = None  # between the first two reviewers, over items both labelled
    # macro-F1 (%) of the model's labels against the reference stances of the rated items, with its 95% bootstrap
    # interval over those items; None before any
    macro_f1: tuple[float, float, float] | None = None

    @property
    def accuracy(self) -> float | None:
        return self.weight_correct / self.weight if self.rated else None

    @property
    def accuracy_interval(self) -> tuple[float, float] | None:
        """Wilson's interval at the weighted sample's effective size (Kish): the item count when weights are equal,
        fewer when a stratified sample weighs some items more."""
        if not self.rated:
            return None
        effective = self.weight ** 2 / self.weight_squares
        return wilson(effective * self.weight_correct / self.weight, effective)


def stance_of(label: str) -> str:
    return "NONE" if label == OFF_TARGET else label


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
    rated: list[tuple[str, str, float]] = []  # (reference stance, model's label, weight) of each rated item
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
            right = first.model_label == stance_of(first.label)
            w = 1.0 / max(first.inclusion, 1e-9)
            out.rated += 1
            out.correct += right
            out.weight, out.weight_correct, out.weight_squares = (
                out.weight + w, out.weight_correct + w * right, out.weight_squares + w * w)
            rated.append((stance_of(first.label), first.model_label, w))
        if len(labelled) > 1:
            pairs.append((first.label, labelled[1].label))
    out.double_reviewed = len(pairs)
    out.kappa = cohen_kappa(pairs)
    out.macro_f1 = macro_f1_interval([g for g, _, _ in rated], [m for _, m, _ in rated], [w for _, _, w in rated])
    return out


@dataclass(frozen=True)
class Reviewed:
    """The rated items of one model and target, as label indices in STANCES order: the reference (the first
    reviewer's stance, OFF_TARGET read as NONE) and the model's label, each with its weight (1 / inclusion)."""

    reference: list[int]
    model: list[int]
    weights: list[float]


def reviewed_items(votes: Iterable[Vote], version: str) -> Reviewed:
    """The items `version` rated, with a reference label: what its live error rates are measured on."""
    firsts: dict[str, Vote] = {}
    for vote in sorted(votes, key=lambda v: (v.at, v.reviewer)):
        if vote.label != SKIP and vote.model_version == version and vote.model_label in STANCES:
            firsts.setdefault(vote.item, vote)
    ordered = [firsts[item] for item in sorted(firsts)]
    return Reviewed([STANCES.index(stance_of(v.label)) for v in ordered],
                    [STANCES.index(v.model_label) for v in ordered], [1.0 / max(v.inclusion, 1e-9) for v in ordered])


def agreement_pairs(votes: Iterable[Vote]) -> list[tuple[int, int]]:
    """The first two reviewers' stances (indices) on each item both labelled: how far reviewers agree."""
    by_item: dict[str, list[Vote]] = {}
    for vote in votes:
        if vote.label != SKIP:
            by_item.setdefault(vote.item, []).append(vote)
    out = []
    for item_votes in by_item.values():
        if len(item_votes) > 1:
            first, second = sorted(item_votes, key=lambda v: (v.at, v.reviewer))[:2]
            out.append((STANCES.index(stance_of(first.label)), STANCES.index(stance_of(second.label))))
    return out

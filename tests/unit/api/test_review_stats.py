"""The reviewed sample's figures: the reference label, accuracy with its interval, agreement; the rate limiter."""

from __future__ import annotations

import pytest

from services.api.rate_limit import RateLimiter
from services.api.review_stats import Vote, cohen_kappa, quality, wilson


def vote(item: str, reviewer: str, label: str, at: float, model: str = "FAVOR") -> Vote:
    return Vote(item=item, reviewer=reviewer, label=label, at=at, model_label=model)


def test_the_first_reviewer_sets_the_reference_skips_aside() -> None:
    q = quality([
        vote("a", "r2", "AGAINST", 2.0), vote("a", "r1", "FAVOR", 1.0),  # r1 first: FAVOR is the reference
        vote("b", "r1", "SKIP", 1.0), vote("b", "r2", "OFF_TARGET", 3.0, model="NONE"),  # the skip does not count
        vote("c", "r1", "SKIP", 1.0),  # only skipped
        vote("d", "r1", "NONE", 1.0, model="UNRATED"),  # a target the model does not rate: no accuracy
    ])
    assert (q.items, q.skipped, q.rated, q.correct) == (3, 1, 2, 2)  # OFF_TARGET reads as NONE: b is right
    assert q.reference == {"FAVOR": 1, "OFF_TARGET": 1, "NONE": 1}
    assert q.confusion == {"FAVOR": {"FAVOR": 1}, "NONE": {"OFF_TARGET": 1}, "UNRATED": {"NONE": 1}}
    assert q.double_reviewed == 1 and q.kappa is not None  # item a: FAVOR against AGAINST


def test_kappa_is_one_for_full_agreement_zero_for_chance_and_none_without_pairs() -> None:
    assert cohen_kappa([("FAVOR", "FAVOR"), ("NONE", "NONE"), ("AGAINST", "AGAINST")]) == 1.0
    assert cohen_kappa([("FAVOR", "FAVOR"), ("FAVOR", "AGAINST"), ("AGAINST", "FAVOR"), ("AGAINST", "AGAINST")]) == 0
    assert cohen_kappa([]) is None
    assert cohen_kappa([("NONE", "NONE")] * 5) == 1.0  # one label throughout


def test_wilson_interval_covers_the_proportion_and_stays_in_range() -> None:
    low, high = wilson(9, 10)
    assert 0.55 < low < 0.9 < high <= 1.0
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0
    assert wilson(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-3)


def test_a_rate_limiter_allows_a_burst_then_one_per_interval_per_caller() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)  # empty: the next token in half a second
    assert limiter.take("b") == 0.0  # others are not held back
    now[0] = 0.5
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1)


def test_export_takes_the_majority_stance_reads_off_target_as_none_and_leaves_ties_out() -> None:
    from models.runtime.labels import held_out
    from services.api.labels_export import consolidate

    def v(item: str, label: str, reviewer: str = "r1") -> dict[str, object]:
        return {"id": item, "label": label, "reviewer": reviewer, "text": f"text {item}", "target": "Joe Biden",
                "model_label": "FAVOR", "at": 1.0}

    votes = [v("a", "FAVOR"), v("a", "FAVOR", "r2"), v("b", "OFF_TARGET"), v("c", "FAVOR"), v("c", "AGAINST", "r2"),
             v("d", "SKIP"), v("e", "SKIP"), v("e", "NONE", "r2")]
    rows, left_out = consolidate(votes)
    assert [(r.item, r.stance, r.votes) for r in rows] == [("a", "FAVOR", 2), ("b", "NONE", 1), ("e", "NONE", 1)]
    assert left_out == {"reviewers disagree (a tie)": 1, "only skipped": 1}
    rows, left_out = consolidate(votes, off_target="drop")
    assert [r.item for r in rows] == ["a", "e"] and left_out["not about the target"] == 1
    split = [held_out(f"post-{i}", 0.2) for i in range(2000)]
    assert 300 < sum(split) < 500 and split == [held_out(f"post-{i}", 0.2) for i in range(2000)]


def test_a_sample_stratified_by_the_models_label_still_estimates_the_streams_accuracy_and_f1() -> None:
    """A stream where the model gives FAVOR rarely and is wrong on most of it: reviewing FAVOR ten times as often
    (its inclusion 0.2 against 0.02) measures that row well; weighing each item by 1 / inclusion keeps the accuracy
    and macro-F1 those of the whole stream, where counting the reviewed items alike would not."""
    import random

    from models.evaluation.evaluate import stance_metrics

    rng = random.Random(5)
    rates = {"FAVOR": 0.2, "AGAINST": 0.02, "NONE": 0.02}
    stream, votes = [], []
    for i in range(60_000):
        model = rng.choices(("FAVOR", "AGAINST", "NONE"), (0.05, 0.5, 0.45))[0]
        truth = (rng.choice(("AGAINST", "NONE")) if model == "FAVOR" and rng.random() < 0.7
                 else model if rng.random() < 0.8 else rng.choice(("FAVOR", "AGAINST", "NONE")))
        stream.append((truth, model))
        if rng.random() < rates[model]:
            votes.append(Vote(item=str(i), reviewer="r1", label=truth, at=1.0, model_label=model,
                              inclusion=rates[model]))
    true_accuracy = sum(t == m for t, m in stream) / len(stream)
    true_f1 = stance_metrics([t for t, _ in stream], [m for _, m in stream], ["FAVOR", "AGAINST", "NONE"])["macro_f1"]
    q = quality(votes)
    assert q.accuracy is not None and q.accuracy_interval is not None and q.macro_f1 is not None
    low, high = q.accuracy_interval
    assert low < true_accuracy < high and abs(q.accuracy - true_accuracy) < 0.02
    assert q.macro_f1[1] < true_f1 < q.macro_f1[2]
    assert q.correct / q.rated < true_accuracy - 0.05  # the items counted alike: FAVOR's errors over-weighed
    # the weighted interval is that of the effective sample (Kish), wider than the item count would claim
    as_if_equal = wilson(q.accuracy * q.rated, q.rated)
    assert high - low > as_if_equal[1] - as_if_equal[0]

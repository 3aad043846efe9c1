"""Corrected shares in a snapshot: per target from its error rates, per party pooled, null where unknown or not
shown to beat raw counting, and every null says why."""

from __future__ import annotations

from typing import Any

from models.runtime.calibration import Calibration
from services.api.schemas import Snapshot
from services.api.shares import NO_ERROR_RATES, NOT_BETTER, NOTHING_COUNTED, ShareEstimator, party_not_correctable

CONFUSION = [[400, 60, 40], [50, 420, 30], [120, 140, 140]]  # [true, predicted]: NONE is often called a stance
CALIBRATION = Calibration.from_meta({"labels": ["FAVOR", "AGAINST", "NONE"], "fitted_on": "test", "targets": {
    "Joe Biden": {"temperature": 1.0, "confusion": CONFUSION},
    "Donald Trump": {"temperature": 1.0, "confusion": CONFUSION},
    "Hillary Clinton": {"temperature": 1.0, "confusion": CONFUSION, "serve_shares": False}}},
    ["FAVOR", "AGAINST", "NONE"])


def figures(favor: int, against: int, none: int, **extra: Any) -> dict[str, Any]:
    total = favor + against + none
    net = (favor - against) / (favor + against) if favor + against else None
    return {"favor": favor, "against": against, "none": none, "total": total, "net": net, **extra}


def snapshot() -> dict[str, Any]:
    return {"window": "15m", "at": 1.0,
            "parties": {"Democrats": figures(300, 300, 200, targets=["Joe Biden", "Kamala Harris"]),
                        "Republicans": figures(100, 500, 100, targets=["Donald Trump"]),
                        "Greens": figures(0, 0, 3, targets=["Jill Stein"])},
            "targets": {"Joe Biden": figures(300, 300, 200, party="Democrats"),
                        "Kamala Harris": figures(0, 0, 0, party="Democrats"),
                        "Donald Trump": figures(100, 500, 100, party="Republicans"),
                        "Jill Stein": figures(0, 0, 3, party="Greens")}}


def test_targets_get_corrected_shares_with_intervals_and_more_none_than_counted() -> None:
    snap = Snapshot.model_validate(ShareEstimator(CALIBRATION).annotate(snapshot()))
    biden = snap.targets["Joe Biden"].shares
    assert biden is not None and biden.method == "adjusted classify-and-count"
    assert biden.none.estimate > 200 / 800  # the model under-calls NONE: the correction moves posts back to it
    for share in (biden.favor, biden.against, biden.none):
        assert share.low <= share.estimate <= share.high
    assert abs(biden.favor.estimate + biden.against.estimate + biden.none.estimate - 1) < 1e-3


def test_unknown_targets_and_parties_built_on_them_get_none_and_empty_targets_do_not_block() -> None:
    snap = Snapshot.model_validate(ShareEstimator(CALIBRATION).annotate(snapshot()))
    harris, stein = snap.targets["Kamala Harris"], snap.targets["Jill Stein"]
    assert harris.shares is None and harris.shares_unavailable == NOTHING_COUNTED
    assert stein.shares is None and stein.shares_unavailable == NO_ERROR_RATES
    assert snap.parties["Greens"].shares is None
    assert snap.parties["Greens"].shares_unavailable == party_not_correctable(["Jill Stein"])
    dem, biden = snap.parties["Democrats"].shares, snap.targets["Joe Biden"].shares
    assert dem is not None and biden is not None and dem.none.estimate == biden.none.estimate  # Harris counted 0
    assert snap.parties["Democrats"].shares_unavailable is None and snap.targets["Joe Biden"].shares_unavailable is None


def test_a_target_whose_correction_did_not_beat_raw_counting_gets_none_and_says_so() -> None:
    snap = snapshot()
    snap["targets"]["Hillary Clinton"] = figures(50, 40, 10, party="Democrats")
    snap["parties"]["Democrats"]["targets"].append("Hillary Clinton")
    out = Snapshot.model_validate(ShareEstimator(CALIBRATION).annotate(snap))
    hillary = out.targets["Hillary Clinton"]
    assert hillary.shares is None and hillary.shares_unavailable == NOT_BETTER
    assert out.targets["Joe Biden"].shares is not None  # the others keep theirs
    dem = out.parties["Democrats"]
    assert dem.shares is None
    assert dem.shares_unavailable == (
        "the figures for Hillary Clinton cannot be corrected, and the party's include them")


def test_without_calibration_there_are_no_shares() -> None:
    snap = Snapshot.model_validate(ShareEstimator(None).annotate(snapshot()))
    assert all(t.shares is None for t in snap.targets.values())
    assert all(p.shares is None for p in snap.parties.values())
    assert snap.targets["Joe Biden"].shares_unavailable == NO_ERROR_RATES

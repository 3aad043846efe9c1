from __future__ import annotations

import pytest

from services.api.headline import add_headlines, headline, wilson
from services.api.schemas import Snapshot


def figures(favor: int, against: int, none: int, **extra: object) -> dict:
    return {"favor": favor, "against": against, "none": none, "total": favor + against + none, "net": None,
            "unrated": 0, "posts": favor + against + none, **extra}


def test_wilson_matches_the_textbook_values_and_stays_in_bounds() -> None:
    low, high = wilson(0, 10)
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-4)  # the interval does not collapse at 0/10
    low, high = wilson(50, 100)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert wilson(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        wilson(0, 0)


def test_corrected_shares_are_the_headline_when_served() -> None:
    share = {"estimate": 0.381, "low": 0.30, "high": 0.462}
    shares = {"favor": share, "against": {"estimate": 0.45, "low": 0.38, "high": 0.52},
              "none": {"estimate": 0.169, "low": 0.1, "high": 0.2}, "method": "adjusted classify-and-count"}
    h = headline("target", "Joe Biden", figures(400, 655, 100, shares=shares), "15m")
    assert h is not None and h["basis"] == "corrected" and h["favor"] == share
    assert h["sentence"] == ("Of 1,155 posts about Joe Biden in the last 15 minutes, an estimated 38% (30–46%) were "
                             "in favour and 45% (38–52%) against, corrected for the model's measured errors.")
    assert h["enough_posts"]


def test_raw_shares_say_they_are_uncorrected_and_why() -> None:
    why = "the model's error rates for this target were never measured"
    h = headline("party", "Greens", figures(3, 1, 0, posts=3, shares=None, shares_unavailable=why), "all")
    assert h is not None and h["basis"] == "raw"
    assert h["favor"]["estimate"] == 0.75 and h["favor"]["low"] < 0.75 < h["favor"]["high"]
    assert h["sentence"] == ("Of 4 ratings of Greens' candidates (in 3 posts: a post about two counts for each) since "
                             "counting began, the model labelled 75% in favour and 25% against. These are its labels "
                             f"uncorrected: {why}. Too few to quote: the figures firm up from 30 posts.")
    assert not h["enough_posts"]


def test_nothing_rated_has_no_headline_and_every_scope_of_a_snapshot_gets_one() -> None:
    assert headline("target", "Kamala Harris", figures(0, 0, 0), "1h") is None
    snap = {"window": "1h", "at": 0.0, "parties": {"Democrats": {**figures(1, 0, 0), "targets": ["Joe Biden"]}},
            "targets": {"Joe Biden": {**figures(1, 0, 0), "party": "Democrats"},
                        "Kamala Harris": {**figures(0, 0, 0), "party": "Democrats"}}}
    out = Snapshot.model_validate(add_headlines(snap))
    assert out.parties["Democrats"].headline is not None and out.parties["Democrats"].headline.basis == "raw"
    assert out.targets["Kamala Harris"].headline is None

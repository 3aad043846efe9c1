"""Where a scored record is counted: its created_at when plausible, else its ingest time, else now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.aggregate.agents import event_time
from services.common.schemas import ScoredTweet

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC).timestamp()


def scored(**kw: Any) -> ScoredTweet:
    base: dict[str, Any] = dict(id="1", target="Joe Biden", party="Democrats", label="FAVOR",
                                probs={"FAVOR": 1.0}, model_version="v", text="t", ingested_at=NOW - 5,
                                scored_at=NOW - 1)
    return ScoredTweet(**{**base, **kw})


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        (datetime(2026, 11, 3, 11, 0, tzinfo=UTC), NOW - 3600),
        (datetime(2026, 11, 3, 11, 0), NOW - 3600),  # naive: read as UTC
        (datetime(1, 1, 1), NOW - 5),  # the poison record: a naive year-1 time
        (datetime(1970, 1, 1, tzinfo=UTC), NOW - 5),
        (datetime(2031, 1, 1, tzinfo=UTC), NOW - 5),  # ahead of the clock
        (None, NOW - 5),
    ],
)
def test_created_at_is_used_only_when_plausible(created_at: datetime | None, expected: float) -> None:
    assert event_time(scored(created_at=created_at), "created_at", NOW) == expected


def test_ingest_time_mode_and_an_implausible_ingest_time() -> None:
    rec = scored(created_at=datetime(2026, 11, 3, 11, 0, tzinfo=UTC))
    assert event_time(rec, "ingested_at", NOW) == NOW - 5
    assert event_time(scored(ingested_at=0.0), "ingested_at", NOW) == NOW
    assert event_time(scored(ingested_at=NOW + 86_400), "created_at", NOW) == NOW


def test_non_finite_times_are_refused_by_the_schema() -> None:
    with pytest.raises(ValueError, match="finite"):
        ScoredTweet.model_validate_json(scored().model_dump_json().replace(f'"ingested_at":{NOW - 5}',
                                                                          '"ingested_at":"inf"'))

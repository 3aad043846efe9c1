"""Messages on the topics. Every message carries schema_version so consumers can evolve safely."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# The messages' labels are the model's, declared once in models/runtime/labels.py and re-exported here.
from models.runtime.labels import LABELS as LABELS
from models.runtime.labels import Label as Label

SCHEMA_VERSION = 1
# A reader takes messages of its own version or older; a newer one (a writer rolled out before its readers, against
# deploy/README.md's order) fails validation and goes to the dead-letter topic with the reason, to be replayed.
SchemaVersion = Annotated[int, Field(ge=1, le=SCHEMA_VERSION, description="the message layout's version")]
# The outcome of a route to a target the served model has no training data for: counted (so readers see how much
# goes unrated), never rated, never in the net stance or the recent tweets.
UNRATED: Literal["UNRATED"] = "UNRATED"

# The window a post's time must fall in, for every stage. Earlier than the first post on Twitter is not a post time
# but a corrupt or placeholder value (0001-01-01, the Unix epoch). Later than now plus a little clock skew is a
# source whose clock runs ahead: the post is placed at ingest time instead.
EARLIEST_POST = datetime(2006, 3, 21, tzinfo=UTC)
MAX_FUTURE_S = 300.0


def plausible_post_time(ts: float, now: float) -> bool:
    """A unix time a post could have been made at, read at `now`."""
    return EARLIEST_POST.timestamp() <= ts <= now + MAX_FUTURE_S


class Route(BaseModel):
    model_config = ConfigDict(frozen=True)
    target: str
    party: str


# A post's size limits that are part of the message contract (the text's is a setting: PULSE_INGEST_MAX_TEXT_CHARS).
MAX_ID_CHARS = 256
MAX_FIELD_CHARS = 256  # author, lang
MAX_SOURCE_CHARS = 64  # "bluesky", "mastodon", "x": a name, not free text


class Post(BaseModel):
    """A post's own fields, declared once: ingest validates every source into it, and the raw message extends it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    text: str = Field(min_length=1)
    created_at: datetime | None = None  # timezone-aware; naive input is read as UTC
    author: str | None = Field(default=None, max_length=MAX_FIELD_CHARS)
    lang: str | None = Field(default=None, max_length=MAX_FIELD_CHARS)
    source: str | None = Field(default=None, max_length=MAX_SOURCE_CHARS)  # None for files and HTTP


class RawTweet(Post):
    """pulse.tweets.raw, keyed by tweet id: a validated, routed post."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    routes: list[Route] = Field(min_length=1)
    ingested_at: float = Field(allow_inf_nan=False)  # unix seconds at ingest: the start of the end-to-end latency


class ScoredTweet(BaseModel):
    """pulse.tweets.scored, keyed by tweet id: one record per (tweet, target)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: SchemaVersion = SCHEMA_VERSION
    id: str
    target: str
    party: str
    label: Label | Literal["UNRATED"]
    probs: dict[str, float]  # empty when UNRATED
    model_version: str
    text: str
    author: str | None = None
    source: str | None = Field(default=None, max_length=MAX_SOURCE_CHARS)
    created_at: datetime | None = None
    ingested_at: float = Field(allow_inf_nan=False)
    scored_at: float = Field(allow_inf_nan=False)
    # The words that pushed the model toward the label (+) or away from it (−) (models/runtime/explain.py): exact
    # contributions to the n-gram half's logit ("ngram"), or the drop in the whole model's probability when the word
    # is left out ("occlusion"); None for pairs infer did not explain.
    explanation: list[tuple[str, float]] | None = Field(default=None, max_length=16)
    explanation_method: Literal["ngram", "occlusion"] | None = None
    # Whether this pair is the post's first route to its party: the one that counts the post among the party's
    # distinct posts (share of voice), so a post about two of a party's targets counts once for the party. Records
    # without it (older producers) count once per pair.
    first_for_party: bool = True
    # Whether this pair is the post's first route at all: the one that counts the post for its source. Records
    # without it count once per pair.
    first_route: bool = True


# The fields of a scored record kept in the recent-tweet lists: what the aggregator stores and the API's RecentTweet
# reads (a test holds the two together).
RECENT_FIELDS = frozenset({"id", "target", "party", "label", "probs", "text", "author", "created_at", "scored_at",
                           "model_version", "explanation", "explanation_method"})
# What a drawn pair keeps for review (services/api/review.py): the post as a reviewer sees it and the model's label
# (never shown to the reviewer, compared afterwards); its inclusion probability is added beside these.
REVIEW_FIELDS = frozenset({"id", "target", "party", "label", "text", "author", "source", "created_at", "scored_at",
                           "model_version"})

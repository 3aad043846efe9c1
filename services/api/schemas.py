"""The API's response models: the contract clients (and the OpenAPI document) see.

The API owns these shapes. The aggregator writes counts and recent tweets in its own layout; what is read back is
validated into these models, and fields the writer adds are not published unless they are declared here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.schemas import Label
from services.common.windows import WindowName


class Figures(BaseModel):
    favor: int = Field(ge=0)
    against: int = Field(ge=0)
    none: int = Field(ge=0)
    total: int = Field(ge=0)
    net: float | None = Field(description="(favor − against) / (favor + against); null when both are 0", ge=-1, le=1)
    unrated: int = Field(default=0, ge=0, description="posts routed here that the served model cannot rate (no "
                                                      "training data for the target); not in total")


class Share(BaseModel):
    estimate: float = Field(ge=0, le=1)
    low: float = Field(ge=0, le=1, description="2.5th percentile of the bootstrap")
    high: float = Field(ge=0, le=1, description="97.5th percentile of the bootstrap")


class CorrectedShares(BaseModel):
    """The window's true FAVOR / AGAINST / NONE shares as estimated from the counts and the model's measured error
    rates (README: Corrected shares), with 95% intervals."""

    favor: Share
    against: Share
    none: Share
    method: Literal["adjusted classify-and-count"]


SHARES_DESCRIPTION = ("prevalence-corrected shares; null when nothing was counted, when the model's error rates for "
                      "a target are unknown, or when correcting with them did not beat raw counting on held-out "
                      "labelled posts (shares_unavailable says which)")
UNAVAILABLE_DESCRIPTION = "why shares is null, in words for a reader; null when shares are given"


class PartyFigures(Figures):
    targets: list[str] = Field(description="the party's targets; its figures are the sum of theirs")
    shares: CorrectedShares | None = Field(default=None, description=SHARES_DESCRIPTION)
    shares_unavailable: str | None = Field(default=None, description=UNAVAILABLE_DESCRIPTION)


class TargetFigures(Figures):
    party: str
    shares: CorrectedShares | None = Field(default=None, description=SHARES_DESCRIPTION)
    shares_unavailable: str | None = Field(default=None, description=UNAVAILABLE_DESCRIPTION)


class Snapshot(BaseModel):
    window: WindowName
    at: float = Field(description="unix seconds the snapshot was read")
    models: list[str] = Field(default_factory=list, description=(
        "versions of the models scoring now (two during a roll-out), or of the last one that scored; empty "
        "before any has"), examples=[["ulmfit-small-v5"]])
    parties: dict[str, PartyFigures]
    targets: dict[str, TargetFigures]


class HistoryPoint(Figures):
    start: int = Field(description="unix seconds the point's step starts")


class History(BaseModel):
    party: str | None = None
    target: str | None = None
    window: str
    step: str
    points: list[HistoryPoint]


class RecentTweet(BaseModel):
    id: str
    target: str
    party: str
    label: Label
    probs: dict[str, float]
    model_version: str
    text: str
    author: str | None = None
    created_at: datetime | None = None
    scored_at: float
    explanation: list[tuple[str, float]] | None = Field(
        default=None, description="the words (lower-cased) that pushed the model toward the label (+) or away from it "
                                  "(−), strongest first (README: Explanations)")
    explanation_method: Literal["ngram", "occlusion"] | None = Field(
        default=None, description="ngram: exact contributions to the n-gram half's logit; occlusion: the drop in "
                                  "the whole model's probability of the label when the word is left out")


class RecentTweets(BaseModel):
    tweets: list[RecentTweet]


class TargetInfo(BaseModel):
    name: str
    party: str
    scored: bool = Field(description="false: the served model has no training data for it; its posts are routed "
                                     "but not rated, and its counts stay 0")


class Targets(BaseModel):
    targets: list[TargetInfo]
    parties: list[str]


class StreamSnapshot(Snapshot):
    """A websocket message: the window's snapshot, on connect, on updates (throttled) and every heartbeat."""

    type: Literal["snapshot"]


class StreamError(BaseModel):
    """A websocket message sent before the server closes: an unknown window (1008) or too many subscribers
    (1013, retry later)."""

    type: Literal["error"]
    detail: str


class SpikeInfo(BaseModel):
    target: str
    party: str
    kind: Literal["volume", "net"] = Field(description="volume: far more posts than usual; net: the net stance moved")
    start: int = Field(description="unix seconds the spiking 5-minute point starts")
    end: int
    volume: int = Field(ge=0)
    baseline_volume: float = Field(ge=0, description="median posts per point over the 2 hours before")
    z: float | None = Field(description="robust z-score of the volume (volume spikes)")
    net: float | None
    baseline_net: float | None
    tweets: str = Field(description="where the posts behind it are: the target's recent tweets")


class Spikes(BaseModel):
    at: float
    rule: str
    spikes: list[SpikeInfo]


class StreamSpikes(Spikes):
    """A websocket message: the spikes (as `GET /v1/spikes`), on connect and whenever the list changes."""

    type: Literal["spikes"]

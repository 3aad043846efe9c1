"""The API's response models: the contract clients (and the OpenAPI document) see.

The API owns these shapes. The aggregator writes counts and recent tweets in its own layout; what is read back is
validated into these models, and fields the writer adds are not published unless they are declared here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from services.api.links import original_url
from services.common.schemas import Label
from services.common.windows import WindowName


class Figures(BaseModel):
    favor: int = Field(ge=0, description="posts the model labelled FAVOR (in favour of the target)", examples=[412])
    against: int = Field(ge=0, description="posts labelled AGAINST", examples=[655])
    none: int = Field(ge=0, description="posts labelled NONE (about the target, no stance toward it)", examples=[88])
    total: int = Field(ge=0, description="favor + against + none: the rated posts", examples=[1155])
    net: float | None = Field(description="(favor − against) / (favor + against); null when both are 0", ge=-1, le=1)
    unrated: int = Field(default=0, ge=0, description="posts routed here that the served model cannot rate (no "
                                                      "training data for the target); not in total")
    posts: int = Field(default=0, ge=0, description=(
        "distinct posts about it, rated or not: for a party, a post about two of its targets counts once (its "
        "total counts one rating per target)"), examples=[1020])


class Share(BaseModel):
    estimate: float = Field(ge=0, le=1, description="the corrected share, 0–1", examples=[0.38])
    low: float = Field(ge=0, le=1, description="2.5th percentile of the bootstrap")
    high: float = Field(ge=0, le=1, description="97.5th percentile of the bootstrap")


class CorrectedShares(BaseModel):
    """The window's true FAVOR / AGAINST / NONE shares as estimated from the counts and the model's measured error
    rates (README: Corrected shares), with 95% intervals."""

    favor: Share = Field(description="the share of posts in favour")
    against: Share = Field(description="the share of posts against")
    none: Share = Field(description="the share of posts without a stance")
    method: Literal["adjusted classify-and-count"] = Field(description="how the shares were corrected (Forman 2008)")
    error_rates: Literal["live", "datasets", "mixed"] = Field(description=(
        "whose error rates: live, measured by reviewers on posts of this stream (README: Reviewers); datasets, "
        "measured on the labelled datasets when the model was built; mixed, a party whose candidates differ"))
    reviewed: int | None = Field(default=None, ge=0, description="reviewed posts behind live error rates")


class Headline(BaseModel):
    """The figure to quote: the corrected shares where the correction is served, else the shares of the model's
    own labels, and a sentence that says which, over how many posts, and why."""

    basis: Literal["corrected", "raw"] = Field(description=(
        "corrected: true shares estimated from the counts and the model's measured error rates, 95% intervals; "
        "raw: the shares of the model's labels as counted, with a 95% Wilson interval that covers counting noise "
        "only (not the model's errors)"))
    favor: Share = Field(description="the share in favour")
    against: Share = Field(description="the share against")
    none: Share = Field(description="the share without a stance")
    enough_posts: bool = Field(description=(
        "false below 30 rated posts: the figures are shown, but their intervals are too wide to quote"))
    error_rates: Literal["live", "datasets", "mixed"] | None = Field(default=None, description=(
        "where corrected: whose error rates (as the shares' error_rates); null for raw"))
    sentence: str = Field(description="the headline in one quotable sentence", examples=[
        "Of 1,155 posts about Joe Biden in the last 15 minutes, an estimated 38% (30–46%) were in favour and 45% "
        "(38–52%) against, corrected for the model's measured errors."])


HEADLINE_DESCRIPTION = "the figure to quote, in numbers and in a sentence; null when nothing rated was counted"
SHARES_DESCRIPTION = ("prevalence-corrected shares; null when nothing was counted, when the model's error rates for "
                      "a target are unknown, or when correcting with them did not beat raw counting on held-out "
                      "labelled posts (shares_unavailable says which)")
UNAVAILABLE_DESCRIPTION = "why shares is null, in words for a reader; null when shares are given"


class PartyFigures(Figures):
    targets: list[str] = Field(description="the party's targets; its label counts are the sum of theirs")
    voice: float | None = Field(default=None, ge=0, le=1, description=(
        "share of voice: the party's distinct posts over all parties' in the window (a post about both parties "
        "counts for each); null when nothing was posted"), examples=[0.57])
    shares: CorrectedShares | None = Field(default=None, description=SHARES_DESCRIPTION)
    shares_unavailable: str | None = Field(default=None, description=UNAVAILABLE_DESCRIPTION)
    headline: Headline | None = Field(default=None, description=HEADLINE_DESCRIPTION)


class TargetFigures(Figures):
    party: str = Field(description="the target's party", examples=["Democrats"])
    shares: CorrectedShares | None = Field(default=None, description=SHARES_DESCRIPTION)
    shares_unavailable: str | None = Field(default=None, description=UNAVAILABLE_DESCRIPTION)
    headline: Headline | None = Field(default=None, description=HEADLINE_DESCRIPTION)


class SourceInfo(BaseModel):
    name: str = Field(description="where the posts came from: bluesky, mastodon, x, http, replay, demo (the "
                                  "bundled sample), demo-research (held-out research tweets replayed by pulse up: "
                                  "not live posts), or a replay's --source-name",
                      examples=["bluesky"])
    posts: int = Field(ge=0, description="distinct posts counted from it since `since` (every window)",
                       examples=[48210])
    since: float = Field(description="unix seconds its first post was counted under this key prefix")


class Snapshot(BaseModel):
    window: WindowName = Field(description="the rolling window the figures cover (all: since counting began)")
    at: float = Field(description="unix seconds the snapshot was read")
    models: list[str] = Field(default_factory=list, description=(
        "versions of the models scoring now (two during a roll-out), or of the last one that scored; empty "
        "before any has"), examples=[["ulmfit-small-v5"]])
    sources: list[SourceInfo] = Field(default_factory=list, description=(
        "what has been counted, most posts first: every source whose posts are in these counts"))
    parties: dict[str, PartyFigures] = Field(description="figures per party, by name")
    targets: dict[str, TargetFigures] = Field(description="figures per target (candidate), by name")


class HistoryPoint(Figures):
    start: int = Field(description="unix seconds the point's step starts")


class History(BaseModel):
    party: str | None = Field(default=None, description="the party of the series (absent for a target's)",
                              examples=["Democrats"])
    target: str | None = Field(default=None, description="the target of the series (absent for a party's)")
    window: str = Field(description="how far back the series reaches (for a `start`–`end` range, its span)",
                        examples=["1h"])
    step: str = Field(description="the spacing of the points", examples=["1m"])
    points: list[HistoryPoint] = Field(description="oldest first; the last point is the current, growing step")


class RecentTweet(BaseModel):
    id: str = Field(description="the post's id at its source", examples=["at://did:plc:abc/app.bsky.feed.post/3k"])
    target: str = Field(description="the target this label is toward", examples=["Joe Biden"])
    party: str = Field(description="the target's party", examples=["Democrats"])
    label: Label = Field(description="the served label: the model's decision for this target")
    probs: dict[str, float] = Field(description="the model's calibrated probability of each label",
                                    examples=[{"FAVOR": 0.12, "AGAINST": 0.81, "NONE": 0.07}])
    model_version: str = Field(description="the model bundle that scored it", examples=["ulmfit-small-v5"])
    text: str = Field(description="the post's text as received")
    author: str | None = Field(default=None, description="the author as the source names them, when it does")
    created_at: datetime | None = Field(default=None, description="when it was posted, as the source says")
    scored_at: float = Field(description="unix seconds it was scored")
    explanation: list[tuple[str, float]] | None = Field(
        default=None, description="the words (lower-cased) that pushed the model toward the label (+) or away from it "
                                  "(−), strongest first (README: Explanations)")
    explanation_method: Literal["ngram", "occlusion"] | None = Field(
        default=None, description="ngram: exact contributions to the n-gram half's logit; occlusion: the drop in "
                                  "the whole model's probability of the label when the word is left out")

    @computed_field(description="the original post on its site (Bluesky, X, Mastodon); null for replays and posts "  # type: ignore[prop-decorator]
                                "sent to the API", examples=["https://bsky.app/profile/did:plc:abc/post/3k"])
    @property
    def url(self) -> str | None:
        return original_url(self.id)


class RecentTweets(BaseModel):
    tweets: list[RecentTweet] = Field(description="newest first")


class TargetInfo(BaseModel):
    name: str = Field(description="the target (candidate)", examples=["Kamala Harris"])
    party: str = Field(description="its party", examples=["Democrats"])
    scored: bool = Field(description="false: the served model has no training data for it; its posts are routed "
                                     "but not rated, and its counts stay 0")


class Targets(BaseModel):
    targets: list[TargetInfo] = Field(description="every target, by name")
    parties: list[str] = Field(description="every party, by name", examples=[["Democrats", "Republicans"]])


class StreamSnapshot(Snapshot):
    """A websocket message: the window's snapshot, on connect, on updates (throttled) and every heartbeat."""

    type: Literal["snapshot"] = Field(description="the message's kind")


class StreamError(BaseModel):
    """A websocket message sent before the server closes: an unknown window (1008) or too many subscribers
    (1013, retry later)."""

    type: Literal["error"] = Field(description="the message's kind")
    detail: str = Field(description="what went wrong, in words",
                        examples=["too many subscribers on this replica; retry later"])


class SpikeInfo(BaseModel):
    target: str = Field(description="the target whose posts spiked", examples=["Donald Trump"])
    party: str = Field(description="its party", examples=["Republicans"])
    kind: Literal["volume", "net"] = Field(description="volume: far more posts than usual; net: the net stance moved")
    start: int = Field(description="unix seconds the spiking 5-minute point starts")
    end: int = Field(description="unix seconds the spiking point ends")
    volume: int = Field(ge=0, description="posts in the spiking point")
    baseline_volume: float = Field(ge=0, description="median posts per point over the 2 hours before")
    z: float | None = Field(description="robust z-score of the volume (volume spikes)")
    net: float | None = Field(description="net stance in the spiking point; null without FAVOR or AGAINST posts")
    baseline_net: float | None = Field(description="median net stance over the 2 hours before (net spikes)")
    tweets: str = Field(description="where the posts behind it are: the target's recent tweets")


class Spikes(BaseModel):
    at: float = Field(description="unix seconds the spikes were read")
    rule: str = Field(description="the rule a spike meets, in words")
    spikes: list[SpikeInfo] = Field(description="the spikes now; empty when nothing departs from the usual")


class StreamSpikes(Spikes):
    """A websocket message: the spikes (as `GET /v1/spikes`), on connect and whenever the list changes."""

    type: Literal["spikes"] = Field(description="the message's kind")


class MeasuredQuality(BaseModel):
    evaluation_set: str = Field(description="the labelled set's key in the bundle's metrics", examples=["kemlm_test"])
    name: str = Field(description="the labelled set", examples=["KE-MLM test"])
    about: str = Field(description="what its posts are", examples=["tweets about Biden and Trump, January–September "
                                                                   "2020"])
    posts: int = Field(ge=0, description="labelled posts about the target in it", examples=[375])
    accuracy: float = Field(ge=0, le=100, description="% of those posts the model labelled as people did",
                            examples=[75.5])
    macro_f1: float = Field(ge=0, le=100, description="macro-F1 over FAVOR, AGAINST and NONE, in %", examples=[75.4])


class LiveQuality(BaseModel):
    reviewed: int = Field(ge=0, description="posts about the target that reviewers labelled (a uniform sample of "
                                            "what was counted), skips aside")
    rated: int = Field(ge=0, description="of those, the ones the model rated")
    enough: bool = Field(description="whether there are enough to go by (live_quality_min_items rated posts); "
                                     "until then the datasets' figures are the guide")
    accuracy: float | None = Field(description="share of rated posts where the model agreed with the first reviewer")
    accuracy_low: float | None = Field(description="95% Wilson interval, lower end")
    accuracy_high: float | None = Field(description="95% Wilson interval, upper end")
    macro_f1: float | None = Field(description="macro-F1 (%) of the model's labels against the reviewers' stances "
                                            "over the rated posts (the labels people used), null before any")
    macro_f1_low: float | None = Field(description="95% bootstrap interval over those posts, lower end")
    macro_f1_high: float | None = Field(description="95% bootstrap interval, upper end")
    double_reviewed: int = Field(ge=0, description="posts two reviewers labelled")
    kappa: float | None = Field(description="Cohen's kappa between those two reviewers: how far people agree")


class ServedModel(BaseModel):
    version: str = Field(description="the bundle's version", examples=["ulmfit-small-v5"])
    targets: list[str] = Field(description="the targets it rates")
    live_quality: dict[str, LiveQuality] = Field(default_factory=dict, description=(
        "per target with reviewed posts: how the model does on this stream itself, as reviewers labelled it"))
    quality: dict[str, list[MeasuredQuality]] = Field(description=(
        "per target, how the model did on each labelled set about it that it was never trained on (three labels, as "
        "counted here); a target without an entry was never measured"))


class ServedModelsInfo(BaseModel):
    models: list[ServedModel] = Field(description=(
        "the models scoring now (two during a roll-out), or the last one that scored; empty before any has"))
    live_quality_min_items: int = Field(ge=1, description="reviewed rated posts a target needs before its live "
                                                          "figures replace the datasets' (and correct the shares)")
    card: str = Field(description="where the model card is: how the model was trained and measured, and its limits",
                      examples=["/v1/model/card"])
    caveat: str = Field(description="what the figures do and do not say about the live stream")

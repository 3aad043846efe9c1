"""The reviewer endpoints' shapes (/v1/review/*): what a reviewer sees, sends, and the quality figures."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from services.api.links import original_url

ReviewLabel = Literal["FAVOR", "AGAINST", "NONE", "OFF_TARGET", "SKIP"]


class ReviewItem(BaseModel):
    """A post to label toward one target. The model's label is left out on purpose: seeing it would pull the
    reviewer toward it."""

    id: str = Field(description="the post's id at its source")
    target: str = Field(description="the target to judge the post's stance toward", examples=["Joe Biden"])
    party: str = Field(description="the target's party", examples=["Democrats"])
    text: str = Field(description="the post's text as received")
    author: str | None = Field(default=None, description="the author as the source names them, when it does")
    source: str | None = Field(default=None, description="where the post came from", examples=["bluesky"])
    created_at: datetime | None = Field(default=None, description="when it was posted, as the source says")

    @computed_field(description="the original post on its site; null for replays")  # type: ignore[prop-decorator]
    @property
    def url(self) -> str | None:
        return original_url(self.id)


class NextItem(BaseModel):
    item: ReviewItem | None = Field(description="the next post to label; null when none is waiting for this reviewer")


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=2_000, description="the item's id, as /v1/review/next gave it")
    target: str = Field(min_length=1, max_length=200, description="the item's target")
    label: ReviewLabel = Field(description=(
        "the post's stance toward the target; OFF_TARGET: the post is not about this target; SKIP: cannot tell "
        "(not shown to this reviewer again)"))


class LabelStored(BaseModel):
    votes: int = Field(ge=1, description="reviewers who have labelled this item so far")


class TargetQuality(BaseModel):
    items: int = Field(ge=0, description="items with a reference label: their first reviewer's, skips aside")
    skipped: int = Field(ge=0, description="items only skipped so far")
    reference: dict[str, int] = Field(description="items per reference label")
    confusion: dict[str, dict[str, int]] = Field(description="the model's label → the reference label → items")
    rated: int = Field(ge=0, description="items the model rated (its label is a stance, not UNRATED)")
    accuracy: float | None = Field(description="share of rated items where the model's stance is the reference's "
                                               "(OFF_TARGET read as NONE); null before any")
    accuracy_low: float | None = Field(description="95% Wilson interval, lower end")
    accuracy_high: float | None = Field(description="95% Wilson interval, upper end")
    macro_f1: float | None = Field(description="macro-F1 (%) of the model's labels against the reviewers' stances "
                                            "over the rated posts (the labels people used), null before any")
    macro_f1_low: float | None = Field(description="95% bootstrap interval over those posts, lower end")
    macro_f1_high: float | None = Field(description="95% bootstrap interval, upper end")
    double_reviewed: int = Field(ge=0, description="items two reviewers labelled")
    kappa: float | None = Field(description="Cohen's kappa between the first two reviewers of those items")


class ReviewQuality(BaseModel):
    targets: dict[str, TargetQuality] = Field(description="per target with labels")

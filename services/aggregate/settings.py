from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class AggregateSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_AGGREGATE_", frozen=True, hide_input_in_errors=True)

    app_id: str = "pulse-aggregate"  # also the consumer group
    # Which clock places a tweet in a minute bucket: its created_at (falls back to ingest time when absent
    # or in the future) or the time it was ingested.
    event_time: Literal["created_at", "ingested_at"] = "created_at"
    batch_max: int = 500
    batch_within_s: float = 0.2
    minute_ttl_s: int = 26 * 3600
    hour_ttl_s: int = 35 * 86400
    seen_ttl_s: int = 7 * 86400  # how long a counted (target, id) is remembered: keep it above the topics' retention
    # 2^bits de-duplication hashes a day; pick bits so that pairs a day / 2^bits stays under ~128 (Redis keeps such
    # hashes compact): 18 fits ~200 tweets/s, 14 ~12 tweets/s.
    seen_shard_bits: int = Field(default=18, ge=4, le=32)
    recent_max: int = 500
    # The review sample (services/api/review.py): each counted (post, target) pair is drawn with this probability,
    # decided by a hash of the pair (a replay draws the same pairs), so reviewed items are a uniform random sample
    # of what was counted; every item keeps its inclusion probability. Up to review_queue_max of the newest drawn
    # items are kept per target (per key group on a cluster); older ones leave the queue, their labels stay.
    review_sample_rate: float = Field(default=0.02, ge=0.0, le=1.0)
    # Stratified by the model's label: a rate per label (JSON, e.g. {"FAVOR": 0.08}) in place of the rate above, so
    # reviewers see more of a label the model gives rarely and its row of the error rates is measured as well as
    # the others. Every estimate weighs an item by 1 / its inclusion probability, so stratifying biases none.
    review_label_rates: dict[Literal["FAVOR", "AGAINST", "NONE", "UNRATED"], Rate] = Field(default_factory=dict)
    review_queue_max: int = Field(default=2_000, ge=1)
    # Unlabelled text of the stream for the language model's target-domain fine-tuning (ULMFiT stage 2): each counted
    # post is kept with this probability (a hash of its id decides; once per post, not per target), the newest
    # lm_text_max per key group (`pulse labels texts` exports them).
    lm_text_sample_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    lm_text_max: int = Field(default=50_000, ge=1)
    metrics_port: int = 9103
    data_dir: str = "var/faust"  # faust's own small state folder (no tables are kept in it)
    # Not ready while records wait and no batch has finished for this long (a stalled worker, whatever a ping says).
    stall_after_s: float = 30.0

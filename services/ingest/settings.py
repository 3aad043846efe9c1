from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import CommaList
from services.common.tokens import HOW_TO_MAKE_ONE, weak_token_reason

# Bluesky's public Jetstream instances, tried in order (PULSE_INGEST_BLUESKY_HOSTS replaces them). Here, not in the
# source module, so reading settings does not import the websocket client.
JETSTREAM_HOSTS = (
    "wss://jetstream2.us-east.bsky.network",
    "wss://jetstream1.us-east.bsky.network",
    "wss://jetstream1.us-west.bsky.network",
    "wss://jetstream2.us-west.bsky.network",
)

class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_INGEST_", frozen=True, hide_input_in_errors=True)

    max_line_bytes: int = 64 * 1024
    max_text_chars: int = 5_000
    metrics_port: int = 9101
    # Delivery: a record the broker has not acknowledged within delivery_timeout_s fails (and the replay reports
    # it); send() waits at most max_block_s for broker metadata or buffer room; on SIGTERM what is in flight
    # gets stop_timeout_s.
    delivery_timeout_s: float = 30.0
    max_block_s: float = 5.0
    stop_timeout_s: float = 5.0
    # A replay whose broker stops acknowledging waits this long for it (asking every second, saying so every 10 s),
    # then resends what failed and reads on; 0 stops at once and reports what was not acknowledged.
    broker_wait_s: float = 300.0
    # How long the producer gathers records into one batch: each batch is one request (and one stored object on
    # the local broker, where 5 ms made batches of ~1 record at 500 posts/s); it is also latency added to a post.
    linger_ms: int = 25
    # HTTP source
    http_host: str = "127.0.0.1"
    http_port: int = 8001
    token: SecretStr | None = None  # bearer token for POST /v1/tweets; required to start the HTTP source
    max_batch: int = 1_000
    max_body_bytes: int = 4 * 1024 * 1024  # a request body larger than this gets 413 before it is read whole
    max_buffered_bytes: int = 64 * 1024 * 1024  # request bodies held in memory at once, over all requests
    max_concurrent_posts: int = 4  # requests parsed and produced at once (bounds memory); others wait
    http_read_timeout_s: float = 10.0  # a body (or a wait for a slot) slower than this gets 408
    http_max_connections: int = 200  # open connections beyond this get 503 (uvicorn's limit_concurrency)

    @field_validator("token")
    @classmethod
    def _token_strong(cls, token: SecretStr | None) -> SecretStr | None:
        # The message never carries the token itself (pydantic would otherwise echo the input).
        if token is not None and (why := weak_token_reason(token.get_secret_value())):
            raise ValueError(f"PULSE_INGEST_TOKEN {why}; generate one with: {HOW_TO_MAKE_ONE}")
        return token




class LiveSettings(BaseSettings):
    """How a live source is read, whatever the source (services/ingest/live.py)."""

    model_config = SettingsConfigDict(env_prefix="PULSE_INGEST_LIVE_", frozen=True, hide_input_in_errors=True)

    queue_size: int = Field(default=1_000, ge=1)  # events read ahead of the producer; a full queue stops reading
    max_in_flight: int = Field(default=5_000, ge=1)  # events sent and not yet acknowledged before reading pauses
    checkpoint_interval_s: float = Field(default=1.0, gt=0)
    rewind_s: float = Field(default=10.0, ge=0)  # resume this far back on a restart or another host (cursor skew)
    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)
    healthy_after_s: float = Field(default=30.0, ge=0)  # a connection that lived this long resets the backoff
    idle_timeout_s: float = Field(default=90.0, gt=0)  # nothing at all (not even a keep-alive) this long: reconnect


class BlueskySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_INGEST_BLUESKY_", frozen=True, hide_input_in_errors=True)

    hosts: CommaList = Field(default_factory=lambda: list(JETSTREAM_HOSTS))
    langs: CommaList = Field(default_factory=lambda: ["en"])  # empty: every language
    gap_tolerance_s: float = Field(default=30.0, ge=0)


class MastodonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_INGEST_MASTODON_", frozen=True, hide_input_in_errors=True)

    url: str = "https://mastodon.social"
    token: SecretStr | None = None  # an app token with read:statuses; streaming needs one since Mastodon 4.2
    tags: CommaList = Field(default_factory=list)  # hashtags without '#'; empty: the instance's public stream
    langs: CommaList = Field(default_factory=lambda: ["en"])
    max_backfill_pages: int = Field(default=25, ge=0)  # per tag, 40 posts a page; more behind that is reported as a gap


class XSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_INGEST_X_", frozen=True, hide_input_in_errors=True)

    url: str = "https://api.x.com"
    bearer_token: SecretStr | None = None  # an app-only token of a project with filtered-stream access
    rule: str = ""  # when set, the stream's only rule tagged 'stance-pulse' (replaced if it differs)
    backfill_minutes: int = Field(default=0, ge=0, le=5)  # recovery after a disconnect: needs a plan that allows it

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import CommaList
from services.common.tokens import HOW_TO_MAKE_ONE, weak_token_reason

REVIEWER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")  # an id, never a name or an address: no personal data


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_API_", frozen=True, hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = 8000
    stream_throttle_s: float = 0.5  # at most one websocket push per client per this many seconds…
    stream_heartbeat_s: float = 10.0  # …and one at least this often, as rolling windows move with time
    max_stream_clients: int = 1_000
    spike_check_s: float = 15.0  # the websocket re-reads the spikes at most this often (they move in 5-minute steps)
    metrics_port: int = 9104  # /metrics on its own port, which the public Service does not expose; 0 disables
    header_timeout_s: float = 10.0  # a request whose headers take longer gets 408 (slow-loris)
    cors_origins: CommaList = Field(default_factory=list)  # origins other pages may call the API from; none: off
    redis_max_connections: int = 50  # requests beyond it wait for a free connection (up to 5 s), then 503
    # Reviewers (the /review page, /v1/review/*): reviewer id → bearer token, as JSON, e.g.
    # PULSE_API_REVIEWER_TOKENS='{"r1": "…", "r2": "…"}'; none: reviewing is off. Not the ingest token.
    reviewer_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    review_double_share: float = Field(default=0.2, ge=0.0, le=1.0)  # items shown to a second reviewer (agreement)
    review_rate_per_s: float = Field(default=2.0, gt=0)  # requests per reviewer per second, on average…
    review_burst: int = Field(default=20, ge=1)  # …in bursts of up to this many (per API process)
    # Reviewed rated posts a target needs before its live quality is shown and its shares are corrected with live
    # error rates (services/api/live_review.py says why 100).
    live_quality_min_items: int = Field(default=100, ge=1)

    @field_validator("reviewer_tokens")
    @classmethod
    def _reviewers(cls, tokens: dict[str, SecretStr]) -> dict[str, SecretStr]:
        # Messages name the reviewer, never the token (pydantic would otherwise echo the input).
        for reviewer, token in tokens.items():
            if not REVIEWER_ID.match(reviewer):
                raise ValueError("PULSE_API_REVIEWER_TOKENS: a reviewer id is 1-32 letters, digits, '.', '_' or '-'")
            if why := weak_token_reason(token.get_secret_value()):
                raise ValueError(f"PULSE_API_REVIEWER_TOKENS: the token of {reviewer} {why}; generate one with: "
                                 f"{HOW_TO_MAKE_ONE}")
        if len({t.get_secret_value() for t in tokens.values()}) < len(tokens):
            raise ValueError("PULSE_API_REVIEWER_TOKENS: two reviewers share a token; each needs their own")
        return tokens

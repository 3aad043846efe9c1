from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import CommaList


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

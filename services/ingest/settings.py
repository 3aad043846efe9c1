from __future__ import annotations

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_INGEST_", frozen=True)

    max_line_bytes: int = 64 * 1024
    max_text_chars: int = 5_000
    metrics_port: int = 9101
    # HTTP source
    http_host: str = "127.0.0.1"
    http_port: int = 8001
    token: SecretStr | None = None  # bearer token for POST /v1/tweets; required to start the HTTP source
    max_batch: int = 1_000

    @model_validator(mode="after")
    def _token_not_trivial(self) -> IngestSettings:
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("PULSE_INGEST_TOKEN must be at least 16 characters")
        return self

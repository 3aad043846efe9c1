"""Settings shared by every service: Kafka and Redis. Read from PULSE_* variables once, at the entry point."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_KAFKA_", frozen=True, hide_input_in_errors=True)

    bootstrap: str = "127.0.0.1:9092"
    raw_topic: str = "pulse.tweets.raw"
    scored_topic: str = "pulse.tweets.scored"
    dlq_topic: str = "pulse.tweets.dlq"
    partitions: int = 3  # used when the services create missing topics (local runs); production pre-creates them
    replication: int = 1
    # A consumer-group join waits this long on some brokers (Tansu waits the whole of it): keep it short locally.
    rebalance_timeout_ms: int = 30_000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """Connection arguments for kafka-python clients."""
        kw: dict[str, Any] = {"bootstrap_servers": self.bootstrap.split(","),
                              "security_protocol": self.security_protocol}
        if self.sasl_mechanism:
            kw["sasl_mechanism"] = self.sasl_mechanism
            kw["sasl_plain_username"] = self.sasl_username
            kw["sasl_plain_password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        return kw


class RedisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_REDIS_", frozen=True, hide_input_in_errors=True)

    url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")  # may carry a password: never logged
    key_prefix: str = "pulse"
    updates_channel: str = "pulse:updates"

    def dsn(self) -> str:
        return self.url.get_secret_value()


class RoutingSettings(BaseSettings):
    """Which tweets are about which target and party: read by ingest (to route) and api (to list them)."""

    model_config = SettingsConfigDict(env_prefix="PULSE_", frozen=True, hide_input_in_errors=True)

    routing_config: str = ""  # a routing TOML; empty: the shipped services/common/routing.toml

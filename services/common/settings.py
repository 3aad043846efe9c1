"""Settings shared by every service: Kafka and Redis. Read from PULSE_* variables once, at the entry point."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _comma_list(value: object) -> object:
    """'a, b' → ['a', 'b'] (a JSON list also works): lists in the environment read naturally."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_list)]


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
    # The longest a fetch waits for new records. Kafka answers as soon as one arrives, so this only sets how often an
    # idle consumer asks; Tansu holds a fetch for much of it even when records come, which became each record's
    # wait (aiokafka's 1.5 s in faust: a median 0.38 s from producer to consumer, 0.03 s at 100 ms).
    fetch_max_wait_ms: int = Field(default=100, ge=1, le=5_000)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # TLS (SSL, SASL_SSL): the CA that signed the brokers' certificates (Strimzi's cluster CA is self-signed, so
    # the system trust store will not do), and a client certificate and key for mutual TLS.
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_") and not (
                self.sasl_mechanism and self.sasl_username and self.sasl_password):
            raise ValueError(f"PULSE_KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                             "PULSE_KAFKA_SASL_MECHANISM, _SASL_USERNAME and _SASL_PASSWORD")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ValueError("PULSE_KAFKA_SSL_CERTFILE and PULSE_KAFKA_SSL_KEYFILE go together (mutual TLS)")
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, name)
            if path and not self.uses_tls:
                raise ValueError(f"PULSE_KAFKA_{name.upper()} is set but the protocol is {self.security_protocol}")
            if path and not Path(path).is_file():
                raise ValueError(f"PULSE_KAFKA_{name.upper()}: no file at {path}")
        return self

    def client_kwargs(self) -> dict[str, Any]:
        """Connection arguments for kafka-python clients."""
        kw: dict[str, Any] = {"bootstrap_servers": self.bootstrap.split(","),
                              "security_protocol": self.security_protocol}
        if self.sasl_mechanism:
            kw["sasl_mechanism"] = self.sasl_mechanism
            kw["sasl_plain_username"] = self.sasl_username
            kw["sasl_plain_password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        if self.uses_tls:
            kw.update(ssl_cafile=self.ssl_cafile, ssl_certfile=self.ssl_certfile, ssl_keyfile=self.ssl_keyfile,
                      ssl_check_hostname=self.ssl_check_hostname)
        return kw

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for clients that take one (faust/aiokafka), built from the same settings."""
        if not self.uses_tls:
            return None
        ctx = ssl.create_default_context(cafile=self.ssl_cafile)
        ctx.check_hostname = self.ssl_check_hostname
        if self.ssl_certfile:
            ctx.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return ctx


class RedisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_REDIS_", frozen=True, hide_input_in_errors=True)

    url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")  # may carry a password: never logged
    key_prefix: str = "pulse"
    updates_channel: str = "pulse:updates"
    # Redis Cluster: the URL names any one node (the client discovers the rest), and the counts are spread over
    # `cluster_groups` hash-tagged key groups (services/common/keys.py). More groups spread the writes more evenly
    # over the nodes, and a read adds up that many keys per bucket: about 4 per primary is plenty.
    cluster: bool = False
    cluster_groups: int = Field(default=12, ge=1, le=1024)

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: SecretStr) -> SecretStr:
        if not url.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
        return url

    def dsn(self) -> str:
        return self.url.get_secret_value()


class RoutingSettings(BaseSettings):
    """Which tweets are about which target and party: read by ingest (to route) and api (to list them)."""

    model_config = SettingsConfigDict(env_prefix="PULSE_", frozen=True, hide_input_in_errors=True)

    routing_config: str = ""  # a routing TOML; empty: the shipped services/common/routing.toml

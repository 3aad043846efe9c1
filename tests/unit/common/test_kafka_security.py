"""The Kafka security settings reach every client: kafka-python's arguments and faust's credentials."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from pydantic import ValidationError

from services.aggregate.app import credentials
from services.common.settings import KafkaSettings

CA = str(Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"))
needs_ca = pytest.mark.skipif(not Path(CA).is_file(), reason="no system CA bundle to stand in for a cluster CA")


@needs_ca
def test_sasl_ssl_carries_the_ca_and_the_sasl_login_to_both_clients() -> None:
    kafka = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="pulse",
                          sasl_password="s3cret-password", ssl_cafile=CA)
    kw = kafka.client_kwargs()
    assert (kw["security_protocol"], kw["sasl_mechanism"], kw["sasl_plain_username"], kw["ssl_cafile"]) == (
        "SASL_SSL", "SCRAM-SHA-512", "pulse", CA)
    assert kw["ssl_check_hostname"] is True
    cred = credentials(kafka)
    assert isinstance(cred, faust.SASLCredentials) and cred.ssl_context is not None
    assert cred.protocol.value == "SASL_SSL"  # without the context faust would speak SASL_PLAINTEXT


@needs_ca
def test_ssl_alone_gives_faust_an_ssl_context_and_plaintext_gives_nothing() -> None:
    assert isinstance(credentials(KafkaSettings(security_protocol="SSL", ssl_cafile=CA)), faust.SSLCredentials)
    plain = KafkaSettings()
    assert credentials(plain) is None and "ssl_cafile" not in plain.client_kwargs()


@pytest.mark.parametrize(("fields", "message"), [
    ({"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN"}, "needs PULSE_KAFKA_SASL_MECHANISM"),
    ({"security_protocol": "SSL", "ssl_cafile": "/nowhere/ca.pem"}, "no file at /nowhere/ca.pem"),
    ({"security_protocol": "SSL", "ssl_certfile": __file__}, "go together"),
    ({"security_protocol": "PLAINTEXT", "ssl_cafile": __file__}, "the protocol is PLAINTEXT"),
    ({"security_protocol": "TLS"}, "security_protocol"),
])
def test_inconsistent_security_settings_fail_at_start_up(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KafkaSettings(**fields)


def test_the_sasl_password_never_appears_in_an_error() -> None:
    with pytest.raises(ValidationError) as err:
        KafkaSettings(security_protocol="SASL_SSL", sasl_password="hunter2-secret", sasl_mechanism="PLAIN",
                      ssl_cafile="/nowhere")
    assert "hunter2-secret" not in str(err.value)

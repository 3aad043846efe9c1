from __future__ import annotations

import pytest
from kafka.errors import KafkaTimeoutError
from kafka.future import Future
from pydantic import ValidationError

from services.common.tokens import weak_token_reason
from services.ingest.delivery import Deliveries
from services.ingest.settings import IngestSettings


def test_deliveries_count_what_the_broker_acknowledged_failed_or_left_pending() -> None:
    d = Deliveries()
    ok, bad, waiting = Future(), Future(), Future()
    for f in (ok, bad, waiting):
        d.track(f)
    ok.success("metadata")
    bad.failure(KafkaTimeoutError("no ack"))
    d.refused(KafkaTimeoutError("no metadata"))
    c = d.counts()
    assert (c.delivered, c.failed, c.pending) == (1, 2, 1)
    assert c.first_error is not None and "no ack" in c.first_error and d.failing


@pytest.mark.parametrize("token", ["short", "a" * 40, "1234123412341234", "abababababababababab"])
def test_weak_tokens_are_refused_and_the_error_never_shows_them(token: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert weak_token_reason(token)
    monkeypatch.setenv("PULSE_INGEST_TOKEN", token)
    with pytest.raises(ValidationError) as err:
        IngestSettings()
    assert token not in str(err.value) and "PULSE_INGEST_TOKEN" in str(err.value)


def test_a_random_token_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_INGEST_TOKEN", "kq3ZtV9x-WmE2pLr7sYb")
    assert IngestSettings().token is not None

"""The operations server of infer and aggregate: heartbeat liveness, readiness, metrics, clear 404s."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from services.common.ops import Probe, serve_ops
from tests.fakes import FakeClock


def test_liveness_follows_the_heartbeat_and_readiness_needs_both() -> None:
    clock = FakeClock()
    probe = Probe(stale_after_s=30, clock=clock)
    assert probe.liveness() == (True, "starting")
    assert probe.readiness() == (False, "starting")
    probe.beat()
    probe.set_ready(True, "model loaded")
    assert probe.readiness() == (True, "model loaded")
    clock.now += 29
    assert probe.liveness()[0]
    clock.now += 2  # 31 s without a beat: the loop is wedged
    live, why = probe.liveness()
    assert not live and "silent for 31 s" in why
    assert probe.readiness() == (False, why)
    probe.beat()
    probe.set_ready(False, "redis unreachable")
    assert probe.liveness()[0] and probe.readiness() == (False, "redis unreachable")


@pytest.fixture()
def server() -> Iterator[tuple[str, Probe, FakeClock]]:
    clock = FakeClock()
    probe = Probe(stale_after_s=10, clock=clock)
    srv = serve_ops("127.0.0.1", 0, probe)
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", probe, clock
    finally:
        srv.shutdown()
        srv.server_close()


def test_the_server_answers_probes_metrics_and_unknown_paths(server: tuple[str, Probe, FakeClock]) -> None:
    base, probe, clock = server
    assert httpx.get(f"{base}/readyz").status_code == 503
    probe.beat()
    probe.set_ready(True)
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "detail": "ok"}
    assert httpx.get(f"{base}/readyz?verbose=1").json() == {"status": "ok", "detail": "ready"}
    metrics = httpx.get(f"{base}/metrics")
    assert metrics.status_code == 200 and "python_info" in metrics.text
    clock.now += 11
    dead = httpx.get(f"{base}/healthz")
    assert dead.status_code == 503 and "silent" in dead.json()["detail"]
    missing = httpx.get(f"{base}/nope")
    assert missing.status_code == 404 and "/healthz" in missing.json()["detail"]

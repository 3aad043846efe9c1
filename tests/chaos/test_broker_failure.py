"""The broker dies under ingest: a replay told not to wait for it (PULSE_INGEST_BROKER_WAIT_S=0) says what was not
acknowledged and exits non-zero, signals stop it within seconds, the HTTP source answers 503 and is not ready; after
a restart a rerun delivers everything once. (A replay that waits for the broker: test_broker_outage.py.)

Each test runs its own broker (Tansu, in memory, so a killed one comes back empty: the harshest case for a rerun).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.runtime.bundle import Bundle
from services.common.kafka import ensure_topics
from services.dev.servers import ManagedProcess, free_port, start_broker, wait_for_port
from tests.integration.harness import (
    Pipeline,
    read_topic,
    replay_report,
    sample,
    wait_for_records,
    wait_until,
    write_jsonl,
)

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
TOKEN = "kq3ZtV9x-WmE2pLr7sYb-chaos"


class Broker:
    def __init__(self, log_dir: Path) -> None:
        self.port, self.log_dir = free_port(), log_dir
        self.server: ManagedProcess = start_broker(port=self.port, log_dir=log_dir)

    def kill(self) -> None:
        self.server.proc.kill()
        self.server.proc.wait()

    def restart(self) -> None:
        self.server = start_broker(port=self.port, log_dir=self.log_dir)


@pytest.fixture
def broken(redis_url: str, fixture_bundle: Bundle, tmp_path: Path) -> Iterator[tuple[Broker, Pipeline]]:
    broker = Broker(tmp_path / "kafka")
    pipeline = Pipeline(broker.server.address, redis_url, fixture_bundle, tmp_path,
                        PULSE_INGEST_DELIVERY_TIMEOUT_S="4", PULSE_INGEST_MAX_BLOCK_S="2",
                        PULSE_INGEST_STOP_TIMEOUT_S="2", PULSE_INGEST_BROKER_WAIT_S="0")
    try:
        yield broker, pipeline
    finally:
        pipeline.stop()
        broker.server.stop()


def replay(pipeline: Pipeline, path: Path, *args: str) -> subprocess.Popen[bytes]:
    with open(pipeline.workdir / "replay.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "services.ingest", "--replay", str(path), "--no-progress",
                                 *args], env=pipeline.env, stdout=log, stderr=subprocess.STDOUT)


def test_replay_reports_a_broker_loss_honestly_and_a_rerun_delivers_everything_once(
        broken: tuple[Broker, Pipeline], tmp_path: Path) -> None:
    broker, pipeline = broken
    records = [r for k in range(3) for r in sample(600, id_prefix=f"r{k}-")]
    path = write_jsonl(tmp_path / "tweets.jsonl", records)
    proc = replay(pipeline, path, "--rate", "150")
    wait_for_records(pipeline.kafka, pipeline.kafka.raw_topic, at_least=50)  # sending (however slow its start)
    broker.kill()
    assert proc.wait(30) == 1  # not 0: some records were not acknowledged
    report = replay_report(pipeline.log("replay"))
    assert report["read"] < len(records)  # it stopped instead of queueing the rest for a dead broker
    assert report["failed"] >= 1
    sent = report["routed"] + report["dead-lettered"]
    assert sent <= report["acknowledged"] + report["failed"] + report["unacknowledged"] <= sent + 1

    broker.restart()  # empty: Tansu kept everything in memory
    ensure_topics(pipeline.kafka)
    rerun = replay_report(pipeline.ingest(path))
    assert (rerun["read"], rerun["failed"], rerun["unacknowledged"]) == (len(records), 0, 0)
    assert rerun["acknowledged"] == rerun["routed"] > 0
    on_topic = read_topic(pipeline.kafka, pipeline.kafka.raw_topic, expected=rerun["routed"])
    assert len(on_topic) == rerun["routed"]


def test_signals_stop_a_replay_within_seconds_whatever_the_broker_does(broken: tuple[Broker, Pipeline],
                                                                       tmp_path: Path) -> None:
    broker, pipeline = broken
    path = write_jsonl(tmp_path / "tweets.jsonl", sample(600))
    proc = replay(pipeline, path, "--rate", "50")
    wait_for_records(pipeline.kafka, pipeline.kafka.raw_topic, at_least=10)  # sending
    broker.kill()
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = proc.wait(20)
    assert code in (0, 1) and time.monotonic() - started < 10
    assert "stopped early (signal)" in pipeline.log("replay") or "stopped early (broker)" in pipeline.log("replay")

    # No broker at all: still stopped by SIGTERM, while it is waiting to connect.
    proc = replay(pipeline, path)
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_http_source_answers_503_and_is_not_ready_without_a_broker(broken: tuple[Broker, Pipeline]) -> None:
    broker, pipeline = broken
    port = free_port()
    pipeline.env.update(PULSE_INGEST_TOKEN=TOKEN, PULSE_INGEST_HTTP_PORT=str(port))
    wait_for_port(port, proc=pipeline.start("ingest", "--http"))
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
    tweets = [{"id": f"b{i}", "text": "Bernie Sanders rally"} for i in range(20)]
    assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
    assert httpx.post(f"{base}/v1/tweets", json=tweets, headers=auth, timeout=30).status_code == 202

    broker.kill()
    wait_until(lambda: httpx.get(f"{base}/readyz", timeout=10).status_code == 503, timeout=20, what="not ready")
    down = httpx.post(f"{base}/v1/tweets", json=tweets, headers=auth, timeout=30)
    assert down.status_code == 503 and "Send the whole request again" in down.json()["detail"]
    assert down.headers["Retry-After"]

    broker.restart()
    ensure_topics(pipeline.kafka)
    wait_until(lambda: httpx.get(f"{base}/readyz", timeout=10).status_code == 200, timeout=30, what="ready again")
    wait_until(lambda: httpx.post(f"{base}/v1/tweets", json=tweets, headers=auth, timeout=30).status_code == 202,
               timeout=30, what="202 again")

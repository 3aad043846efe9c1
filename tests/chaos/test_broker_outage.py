"""The broker down for 30 s under a running pipeline (a replay, infer, aggregate, api), on the durable local
broker: infer and aggregate say they are not ready within seconds and stay up, the replay waits and resends, and
the counts end exact. And a stalled aggregate (Redis frozen) says so on /readyz, then recovers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.runtime.bundle import Bundle
from services.dev.servers import start_redis
from tests.integration.harness import (
    DurableBroker,
    Pipeline,
    assert_exact,
    expected_counts,
    replay_report,
    sample,
    wait_until,
    write_jsonl,
)

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def ready(pipeline: Pipeline, service: str) -> int:
    try:
        return pipeline.probe(service, "/readyz").status_code
    except httpx.HTTPError:
        return -1


@pytest.fixture
def durable_pipeline(redis_url: str, fixture_bundle: Bundle,
                     tmp_path: Path) -> Iterator[tuple[DurableBroker, Pipeline]]:
    broker = DurableBroker(tmp_path / "broker")
    pipeline = Pipeline(broker.broker.address, redis_url, fixture_bundle, tmp_path,
                        PULSE_INGEST_DELIVERY_TIMEOUT_S="4", PULSE_INGEST_MAX_BLOCK_S="2")
    try:
        yield broker, pipeline
    finally:
        pipeline.stop()
        broker.stop()


def test_the_pipeline_rides_out_30_s_without_a_broker_and_counts_exactly(
        durable_pipeline: tuple[DurableBroker, Pipeline], fixture_bundle: Bundle, tmp_path: Path) -> None:
    broker, pipeline = durable_pipeline
    pipeline.start_all()
    records = sample(600)
    expected = expected_counts(fixture_bundle, records)
    for service in ("infer", "aggregate"):
        wait_until(lambda s=service: ready(pipeline, s) == 200, timeout=60, what=f"{service} ready")
    with open(tmp_path / "replay.log", "wb") as log:
        replay = subprocess.Popen([sys.executable, "-m", "services.ingest", "--replay",
                                   str(write_jsonl(tmp_path / "tweets.jsonl", records)), "--rate", "40",
                                   "--no-progress"], env=pipeline.env, stdout=log, stderr=subprocess.STDOUT)
    wait_until(lambda: sum(t["total"] + t["unrated"] for t in pipeline.pulse()["targets"].values()) > 10,
               timeout=60, what="the first counts")
    broker.kill9_broker(restart=False)
    died = time.monotonic()
    for service in ("infer", "aggregate"):  # within seconds: the lag reader calls 5 s of silence an outage
        # (20 s: on a loaded machine each probe itself may take seconds to answer)
        wait_until(lambda s=service: ready(pipeline, s) == 503, timeout=20, what=f"{service} not ready")
    time.sleep(max(0.0, 30 - (time.monotonic() - died)))
    for name, proc in pipeline.procs.items():
        assert proc.poll() is None, f"{name} died while the broker was down: {pipeline.log(name)[-2000:]}"
    assert replay.poll() is None  # the replay is waiting, not failed
    broker.restart_broker()

    assert replay.wait(120) == 0
    report = replay_report((tmp_path / "replay.log").read_text())
    assert (report["read"], report["failed"], report["unacknowledged"]) == (len(records), 0, 0)
    # it waited (more than once when resent records meet a producer still reconnecting), then read on
    assert re.search(r"waited for the broker \d+ time\(s\), \d+ s in all, \d+ records resent",
                     (tmp_path / "replay.log").read_text())
    pipeline.wait_for_counts(expected, timeout=120)
    assert_exact(pipeline.pulse(), expected)
    for service in ("infer", "aggregate"):
        wait_until(lambda s=service: ready(pipeline, s) == 200, timeout=30, what=f"{service} ready again")
    time.sleep(3)
    assert_exact(pipeline.pulse(), expected)  # nothing counted twice by the resends


def test_a_stalled_aggregate_is_not_ready_and_recovers(kafka_bootstrap: str, fixture_bundle: Bundle,
                                                        tmp_path: Path) -> None:
    redis = start_redis(log_dir=tmp_path / "redis")
    pipeline = Pipeline(kafka_bootstrap, redis.address, fixture_bundle, tmp_path,
                        PULSE_AGGREGATE_STALL_AFTER_S="2")
    try:
        pipeline.start_all()
        wait_until(lambda: ready(pipeline, "aggregate") == 200, timeout=60, what="aggregate ready")
        first, second = sample(100, id_prefix="a-"), sample(100, id_prefix="b-")
        pipeline.ingest(write_jsonl(tmp_path / "first.jsonl", first))
        pipeline.wait_for_counts(expected_counts(fixture_bundle, first))
        os.kill(redis.proc.pid, signal.SIGSTOP)  # Redis hangs: the aggregator's writes wait, counting stops
        try:
            pipeline.ingest(write_jsonl(tmp_path / "second.jsonl", second))
            stalled = wait_until(lambda: ready(pipeline, "aggregate") == 503, timeout=15, what="not ready")
            assert stalled
            why = pipeline.probe("aggregate", "/readyz").json()["detail"]
            # either check may see it first: the watchdog (records waiting, no batch finished) or the Redis ping
            assert (why.startswith("stalled") and "records waiting" in why) or why == "redis unreachable: TimeoutError"
        finally:
            os.kill(redis.proc.pid, signal.SIGCONT)
        pipeline.wait_for_counts(expected_counts(fixture_bundle, first + second), timeout=90)
        wait_until(lambda: ready(pipeline, "aggregate") == 200, timeout=30, what="ready again")
    finally:
        pipeline.stop()
        redis.stop()

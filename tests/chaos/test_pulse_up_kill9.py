"""`pulse up` as a user runs it, with kill -9 of every worker in turn: each is restarted, the broker and Redis stay
up, and the counts end exact (nothing lost, nothing counted twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.bundle import Bundle
from services.common.devservers import free_port, wait_for_port
from tests.integration.harness import assert_exact, expected_counts, sample, wait_until, write_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


class Up:
    def __init__(self, var: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.var, self.port, self.proc = var, port, proc

    def pid(self, name: str) -> int:
        return int((self.var / "run" / f"{name}.pid").read_text())

    def kill9(self, name: str) -> int:
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: self.pid(name) != pid, timeout=30, what=f"{name} to be restarted")
        return pid

    def pulse(self) -> dict:  # type: ignore[type-arg]
        r = httpx.get(f"http://127.0.0.1:{self.port}/v1/pulse", params={"window": "all"}, timeout=5)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def counted(self) -> int:
        try:
            return sum(t["total"] for t in self.pulse()["targets"].values())
        except httpx.HTTPError:
            return -1  # the API is restarting

    def log(self) -> str:
        return (self.var / "up.log").read_text(errors="replace")


@pytest.fixture
def up(fixture_bundle: Bundle, tmp_path: Path) -> Iterator[tuple[Up, list[dict]]]:  # type: ignore[type-arg]
    records = sample(400)
    path = write_jsonl(tmp_path / "tweets.jsonl", records)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}  # its own broker and Redis
    env.update(PULSE_INFER_BUNDLE=str(fixture_bundle.path), PULSE_INFER_INTRA_OP_THREADS="1",
               PULSE_INFER_BATCH_WAIT_MS="20", PULSE_AGGREGATE_BATCH_WITHIN_S="0.05",
               PULSE_INGEST_METRICS_PORT=str(free_port()), PULSE_INFER_METRICS_PORT=str(free_port()),
               PULSE_AGGREGATE_METRICS_PORT=str(free_port()))
    var = tmp_path / "var"
    var.mkdir()
    with open(var / "up.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--replay", str(path), "--once",
                                 "--rate", "25", "--port", str(port), "--var", str(var)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield Up(var, port, proc), records
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_kill_9_of_each_worker_under_pulse_up_ends_with_exact_counts(
        up: tuple[Up, list[dict]], fixture_bundle: Bundle) -> None:  # type: ignore[type-arg]
    stack, records = up
    expected = expected_counts(fixture_bundle, records)
    total = sum(sum(c.values()) for c in expected.values())
    wait_until(lambda: stack.counted() > 10, timeout=60, what="the first counts")
    for name in ("ingest", "infer", "aggregate", "api"):
        stack.kill9(name)
        time.sleep(1.5)
    assert 0 <= stack.counted() < total or stack.counted() == -1  # really mid-stream

    def exact() -> bool:
        snap = stack.pulse() if stack.counted() >= 0 else None
        return snap is not None and all(snap["targets"][t]["total"] == sum(c.values()) for t, c in expected.items())

    wait_until(exact, timeout=180, interval=0.5, what="the final counts")
    assert_exact(stack.pulse(), expected)
    time.sleep(3)  # and they stay exact: nothing late is counted twice
    assert_exact(stack.pulse(), expected)
    log = stack.log()
    for name in ("ingest", "infer", "aggregate", "api"):
        assert f"{name} exited with -9" in log and f"{name} restarted" in log, log[-3000:]
    assert stack.proc.poll() is None  # pulse up itself is still running

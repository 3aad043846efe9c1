"""`pulse up` run as a user runs it, for the chaos tests: its pids, its log, its counts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from models.runtime.bundle import Bundle
from services.dev.servers import free_port, stop_process, wait_for_port
from services.dev.up import STARTUP_WAIT_S
from tests.integration.harness import wait_until, write_jsonl


class Up:
    def __init__(self, var: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.var, self.port, self.proc = var, port, proc

    def pid(self, name: str) -> int:
        return int((self.var / "run" / f"{name}.pid").read_text())

    def alive(self, name: str) -> bool:
        try:
            os.kill(self.pid(name), 0)
        except ProcessLookupError:
            return False
        return not Path(f"/proc/{self.pid(name)}/stat").read_text().split(") ")[1].startswith("Z")

    def kill9(self, name: str) -> int:
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: self.pid(name) != pid, timeout=30, what=f"{name} to be restarted")
        return pid

    def pulse(self) -> dict[str, Any]:
        r = httpx.get(f"http://127.0.0.1:{self.port}/v1/pulse", params={"window": "all"}, timeout=5)
        r.raise_for_status()
        return r.json()

    def counted(self) -> int:
        try:
            return sum(t["total"] + t["unrated"] for t in self.pulse()["targets"].values())
        except httpx.HTTPError:
            return -1  # the API is restarting

    def log(self) -> str:
        return (self.var / "up.log").read_text(errors="replace")


@contextlib.contextmanager
def running_up(bundle: Bundle, tmp_path: Path, records: list[dict[str, Any]] | None, rate: float,
               *extra_args: str) -> Iterator[Up]:
    """`pulse up --once` replaying `records` at `rate` (None: no replay, `extra_args` say the source), with its own
    broker and Redis."""
    source = ["--replay", str(write_jsonl(tmp_path / "tweets.jsonl", records)), "--once"] if records is not None \
        else []
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}  # its own broker and Redis
    env.update(PULSE_INFER_BUNDLE=str(bundle.path), PULSE_INFER_INTRA_OP_THREADS="1",
               PULSE_INFER_BATCH_WAIT_MS="20", PULSE_AGGREGATE_BATCH_WITHIN_S="0.05",
               PULSE_INGEST_METRICS_PORT=str(free_port()), PULSE_INFER_METRICS_PORT=str(free_port()),
               PULSE_AGGREGATE_METRICS_PORT=str(free_port()), PULSE_API_METRICS_PORT=str(free_port()))
    # (every port its own: parallel test workers run several stacks at once)
    var = tmp_path / "var"
    var.mkdir()
    with open(var / "up.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "up", *source,
                                 "--rate", str(rate), "--port", str(port), "--var", str(var), *extra_args],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=STARTUP_WAIT_S + 60, proc=proc)  # its servers first, then the API
        yield Up(var, port, proc)
    finally:
        stop_process(proc, signal.SIGINT, 60)

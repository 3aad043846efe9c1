"""`pulse up` as a user runs it, with kill -9 of every worker in turn, then of Redis: each is restarted (Redis from
its append-only file), and the counts end exact (nothing lost, nothing counted twice)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models.runtime.bundle import Bundle
from services.common.schemas import UNRATED
from tests.chaos.stack import Up, running_up
from tests.integration.harness import assert_exact, expected_counts, rated, sample, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


@pytest.fixture
def up(fixture_bundle: Bundle, tmp_path: Path) -> Iterator[tuple[Up, list[dict[str, Any]]]]:
    records = sample(400)
    with running_up(fixture_bundle, tmp_path, records, rate=25) as stack:
        yield stack, records


def test_kill_9_of_each_worker_under_pulse_up_ends_with_exact_counts(
        up: tuple[Up, list[dict[str, Any]]], fixture_bundle: Bundle) -> None:
    stack, records = up
    expected = expected_counts(fixture_bundle, records)
    total = sum(sum(c.values()) for c in expected.values())
    wait_until(lambda: stack.counted() > 10, timeout=60, what="the first counts")
    for name in ("ingest", "infer", "aggregate", "api", "redis"):
        stack.kill9(name)
        time.sleep(1.5)
    assert 0 <= stack.counted() < total or stack.counted() == -1  # really mid-stream

    def exact() -> bool:
        snap = stack.pulse() if stack.counted() >= 0 else None
        return snap is not None and all((snap["targets"][t]["total"], snap["targets"][t]["unrated"]) ==
                                        (rated(c), c[UNRATED]) for t, c in expected.items())

    wait_until(exact, timeout=180, interval=0.5, what="the final counts")
    assert_exact(stack.pulse(), expected)
    time.sleep(3)  # and they stay exact: nothing late is counted twice
    assert_exact(stack.pulse(), expected)
    log = stack.log()
    for name in ("ingest", "infer", "aggregate", "api", "redis server"):
        assert f"{name} exited with -9" in log and f"{name} restarted" in log, log[-3000:]
    assert stack.proc.poll() is None  # pulse up itself is still running

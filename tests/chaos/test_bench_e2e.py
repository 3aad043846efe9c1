"""`pulse bench --e2e` and `--infer` as a user runs them: a fresh `pulse up` replays flat out and every pair is
counted, or each replica count drains the whole backlog; the tables set them beside the model alone (their figures
are the README's; here only that they run and are complete)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.chaos


def test_the_end_to_end_bench_counts_everything_and_prints_its_table(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "services.cli", "bench", "--e2e", "--posts", "600", "--seconds", "0.5",
                          "--var", str(tmp_path / "var")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    table = out.stdout
    assert "`pulse bench --e2e --posts 600 --rate 0 --seconds 0.5`" in table
    assert re.search(r"\| model alone, batch 256 \| [\d,]+ pairs/s \|", table)
    assert re.search(r"\| end to end, [\d,]+ pairs \| [\d,]+ pairs/s \|", table)  # all counted: no "(not all"
    assert re.search(r"\| ingest → counted, p50 / p95 / p99 \([^)]*\) \| \d+\.\d\d / \d+\.\d\d / \d+\.\d\d s \|", table)
    assert re.search(r"\| CPU of infer per 1,000 pairs \| [\d,]+ ms", table)


def test_the_infer_bench_drains_the_backlog_with_each_replica_count(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "services.cli", "bench", "--infer", "--posts", "12000", "--replicas",
                          "1,2", "--threads", "1", "--seconds", "0.5", "--pin"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    table = out.stdout
    assert re.search(r"\| model alone, batch 256, 1 thread \| [\d,]+ pairs/s \|", table)
    # every routed post of the replay was committed by each group (the drain ends only then)
    assert len(re.findall(r"\| infer, [12] replicas? \([\d,]+ posts in [\d.]+ s", table)) == 2, table
    assert len(re.findall(r"CPU [\d,]+ ms per 1,000 pairs \([\d.]+ cores\)", table)) == 2, table
    assert "each replica on a core of its own" in table

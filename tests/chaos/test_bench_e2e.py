"""`pulse bench --e2e` as a user runs it: a fresh `pulse up` replays flat out, every pair is counted, and the table
sets the pipeline beside the model alone (its figures are the README's; here only that it runs and is complete)."""

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
    assert re.search(r"\| ingest → counted p99 \| \d+\.\d\d s \|", table)

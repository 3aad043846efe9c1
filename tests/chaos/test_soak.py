"""The long soak (`make soak`, not part of `make test`): `pulse up` replays for PULSE_SOAK_S seconds (default 600)
while a random worker is killed with -9 every PULSE_SOAK_KILL_EVERY_S seconds; the counts must end exact."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from models.runtime.bundle import Bundle
from tests.chaos.stack import running_up
from tests.integration.harness import assert_exact, expected_counts, sample, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.chaos, pytest.mark.soak]
RATE = 20.0


@pytest.mark.timeout(0)  # as long as PULSE_SOAK_S asks; its own waits are bounded
def test_soak_with_random_kills_ends_exact(fixture_bundle: Bundle, tmp_path: Path) -> None:
    seconds = float(os.environ.get("PULSE_SOAK_S", "600"))
    kill_every = float(os.environ.get("PULSE_SOAK_KILL_EVERY_S", "45"))
    base = sample(600)
    passes = max(1, round(seconds * RATE / len(base)))
    records = [{**r, "id": f"s{k}-{r['id']}"} for k in range(passes) for r in base]
    once = expected_counts(fixture_bundle, base)  # the same texts every pass: the same labels
    expected = {t: Counter({label: n * passes for label, n in c.items()}) for t, c in once.items()}
    rng = random.Random(0)
    kills: Counter[str] = Counter()
    # Kills every few seconds are not a crash loop: let pulse up restart as often as the soak kills.
    with running_up(fixture_bundle, tmp_path, records, RATE, "--max-restarts", "1000") as stack:
        wait_until(lambda: stack.counted() > 0, timeout=60, what="the first counts")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline - kill_every:
            time.sleep(kill_every)
            victim = rng.choice(["ingest", "infer", "aggregate", "api"])
            if not stack.alive(victim):  # the replay finished, or it is between a crash and its restart
                continue
            stack.kill9(victim)
            kills[victim] += 1
        wait_until(lambda: stack.counted() == sum(sum(c.values()) for c in expected.values()),
                   timeout=2 * seconds + 300, interval=2, what="the final counts")  # a killed replay restarts
        assert_exact(stack.pulse(), expected)
        print(f"soak: {len(records)} tweets over {seconds:.0f} s, kills {dict(kills)}: counts exact")

"""Schemathesis against the running API on a real Redis: requests generated from the OpenAPI document (valid and
invalid), every response checked against it (status codes, content types, headers, schema conformance) and for
server errors. No finding is allowed.

One check is left out, `positive_data_acceptance` (a request the schema allows must not get a 4xx): the API has
rules OpenAPI cannot state, between parameters (a history window must be a whole number of its steps, at most
1,440 points, hour steps past 24 hours), and answers them with a 422 that says which; every other check runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import running_api
from tests.integration.test_api import minute_safe_now, scored, seed
from tests.integration.test_review import TOKENS, count
from tests.integration.test_review import scored as drawn

pytestmark = pytest.mark.integration
SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


@pytest.fixture
def api(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The API with reviewers (the reviewer routes are exercised too), their rate limit out of the way."""
    with running_api(redis_url, tmp_path, PULSE_API_REVIEWER_TOKENS=json.dumps(TOKENS),
                     PULSE_API_REVIEW_RATE_PER_S="1000", PULSE_API_REVIEW_BURST="1000") as started:
        yield started


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is a dev dependency (make test installs it)")
def test_the_api_conforms_to_its_openapi_document(api: tuple[str, str], redis_url: str, tmp_path: Path) -> None:
    base, prefix = api
    count(redis_url, prefix, [drawn(i) for i in range(20)], rate=1.0)  # posts waiting for review
    now = minute_safe_now()
    seed(redis_url, prefix, [(scored(i, target, party, label), now - 60 * i) for i, (target, party, label) in
                             enumerate([("Joe Biden", "Democrats", "FAVOR"), ("Donald Trump", "Republicans", "AGAINST"),
                                        ("Bernie Sanders", "Democrats", "NONE")], start=1)])
    started = time.monotonic()
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{base}/openapi.json", "--checks", "all",
         "--exclude-checks", "positive_data_acceptance", "--max-examples", "40", "--seed", "1",
         "--request-timeout", "10", "--generation-deterministic", "--suppress-health-check", "all",
         "--header", f"Authorization: Bearer {TOKENS['r1']}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert time.monotonic() - started < 600

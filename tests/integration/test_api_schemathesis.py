"""Schemathesis against the running API on a real Redis: requests generated from the OpenAPI document (valid and
invalid), every response checked against it (status codes, content types, headers, schema conformance) and for
server errors. No finding is allowed.

One check is left out, `positive_data_acceptance` (a request the schema allows must not get a 4xx): the API has
rules OpenAPI cannot state, between parameters (a history window must be a whole number of its steps, at most
1,440 points, hour steps past 24 hours), and answers them with a 422 that says which; every other check runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_api import api, minute_safe_now, scored, seed  # noqa: F401 - the api fixture

pytestmark = pytest.mark.integration
SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is a dev dependency (make test installs it)")
def test_the_api_conforms_to_its_openapi_document(api: tuple[str, str], redis_url: str,  # noqa: F811
                                                  tmp_path: Path) -> None:
    base, prefix = api
    now = minute_safe_now()
    seed(redis_url, prefix, [(scored(i, target, party, label), now - 60 * i) for i, (target, party, label) in
                             enumerate([("Joe Biden", "Democrats", "FAVOR"), ("Donald Trump", "Republicans", "AGAINST"),
                                        ("Bernie Sanders", "Democrats", "NONE")], start=1)])
    started = time.monotonic()
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{base}/openapi.json", "--checks", "all",
         "--exclude-checks", "positive_data_acceptance", "--max-examples", "40", "--seed", "1",
         "--request-timeout", "10", "--generation-deterministic", "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert time.monotonic() - started < 600

"""`pulse up --source bluesky --fake-source`: the whole stack reading a local Jetstream, as a user starts it with
no internet; the counts rise in the API and on the page."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from models.runtime.bundle import Bundle
from tests.chaos.stack import running_up
from tests.integration.harness import wait_until

pytestmark = pytest.mark.chaos
CHROMIUM = os.environ.get("PULSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (make test installs Debian's chromium as root)")
def test_pulse_up_on_a_live_bluesky_stream_counts_rise_on_the_page(fixture_bundle: Bundle, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with running_up(fixture_bundle, tmp_path, None, 40.0, "--source", "bluesky", "--fake-source") as up:
        first = wait_until(lambda: up.counted() > 0 and up.counted(), 90, what="the first counts")
        wait_until(lambda: up.counted() >= first + 20, 60, what="counts rising")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{up.port}/")

                def on_page() -> int:
                    return sum(int(t or 0) for t in page.locator('[data-party] [data-field="total"]').all_inner_texts())

                shown = wait_until(lambda: on_page() > 0 and on_page(), 30, what="counts on the page")
                page.wait_for_function(
                    f"""() => [...document.querySelectorAll('[data-party] [data-field="total"]')]
                        .reduce((n, e) => n + Number(e.textContent || 0), 0) > {shown}""", timeout=30_000)
                # authors by handle once the fake Jetstream has announced their identity (as the network does;
                # one announced before ingest subscribed is named as an account until its next announcement)
                page.wait_for_function("""() => [...document.querySelectorAll('#recent [data-field="author"]')]
                    .some((e) => /^@user\\d+\\.bsky\\.social$/.test(e.textContent))""", timeout=30_000)
                authors = page.locator('#recent [data-field="author"]').all_inner_texts()
                assert all(a.startswith("@") or a == "a Bluesky account" for a in authors), authors
            finally:
                browser.close()
        assert "bluesky: reading from ws://127.0.0.1:" in (up.var / "logs" / "ingest.log").read_text()

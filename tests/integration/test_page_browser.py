"""The live page in a real headless Chromium: it shows the counts and follows updates over the websocket."""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from tests.integration.test_api import api, minute_safe_now, scored, seed  # noqa: F401 - the api fixture

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CHROMIUM = os.environ.get("PULSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (make test installs Debian's chromium as root)")
def test_page_shows_parties_side_by_side_and_updates_live(api: tuple[str, str], redis_url: str,  # noqa: F811
                                                           tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, prefix = api
    now = minute_safe_now()
    seed(redis_url, prefix, [(scored(1, "Joe Biden", "Democrats", "FAVOR"), now),
                             (scored(2, "Donald Trump", "Republicans", "AGAINST"), now)])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.goto(base + "/")
            dem = page.locator('[data-party="Democrats"]')
            rep = page.locator('[data-party="Republicans"]')
            expect(page.locator("#status")).to_have_text("live")
            expect(dem.locator('[data-field="total"]')).to_have_text("1")
            expect(dem.locator('[data-field="shares"]')).to_contain_text("corrected: favor")  # the served error rates
            expect(rep.locator('[data-field="against"]')).to_have_text("1")
            expect(rep.locator('[data-field="net"]')).to_have_text("-1.00")
            box_d, box_r = dem.bounding_box(), rep.bounding_box()
            assert box_d and box_r and box_d["x"] < box_r["x"] and abs(box_d["y"] - box_r["y"]) < 1  # side by side

            # New counts arrive: the aggregator's store publishes and the page follows without a reload.
            # (in a thread: Playwright's sync API keeps an event loop running in this one)
            more = [(scored(i, "Kamala Harris", "Democrats", "FAVOR"), time.time()) for i in range(3, 6)]
            with ThreadPoolExecutor(1) as pool:
                pool.submit(seed, redis_url, prefix, more).result()
            with redis.Redis.from_url(redis_url) as client:
                client.publish(f"{prefix}:updates", '{"counted": 3}')
            expect(dem.locator('[data-field="total"]')).to_have_text("4", timeout=10_000)
            # the served model has no training data for Harris: the page says so instead of counting
            expect(dem.locator('[data-target="Kamala Harris"] [data-field="unscored"]')).to_contain_text("not rated")
            expect(page.locator("#recent li")).to_have_count(5)
            # accessible controls: the chosen window is pressed, the status is announced, freshness shown
            expect(page.locator('#windows button[data-window="15m"]')).to_have_attribute("aria-pressed", "true")
            expect(page.locator('#windows button[data-window="1h"]')).to_have_attribute("aria-pressed", "false")
            expect(page.locator("#status")).to_have_attribute("aria-live", "polite")
            expect(page.locator("#updated")).to_contain_text("updated")
            # the filter narrows the recent tweets to one party
            page.select_option("#filter", "party=Republicans")
            expect(page.locator("#recent li")).to_have_count(1)
            expect(page.locator("#recent li")).to_contain_text("toward Donald Trump")
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            browser.close()

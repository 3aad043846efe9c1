"""The live page in a real headless Chromium: it shows the counts and follows updates over the websocket."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.harness import running_api
from tests.integration.test_api import minute_safe_now, scored, seed
from tests.npm_packages import installed, npm_ci

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CHROMIUM = os.environ.get("PULSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"  # the page's npm packages: uPlot (vendored into the static files) and axe-core
NPM = shutil.which("npm")


@pytest.fixture(scope="module")
def web_packages() -> Path:
    """web/node_modules as web/package-lock.json pins them (npm ci, skipped when already there)."""
    if NPM is None and not installed(WEB):
        pytest.skip("npm is needed for the page's pinned packages")
    return npm_ci(WEB)


def test_the_served_chart_library_and_docs_page_are_the_pinned_ones(web_packages: Path) -> None:
    vendor = ROOT / "services" / "api" / "static" / "vendor"
    pinned = [(name, web_packages / "uplot" / "dist" / name) for name in ("uPlot.iife.min.js", "uPlot.min.css")] + [
        (name, web_packages / "swagger-ui-dist" / name)
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")]
    for name, source in pinned:
        assert (vendor / name).read_bytes() == source.read_bytes(), (
            f"{name} differs from web/package-lock.json's package: run make vendor")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (make test installs Debian's chromium as root)")
def test_the_api_docs_render_with_nothing_from_outside(api: tuple[str, str]) -> None:
    """/docs is the vendored Swagger UI: with every request off the API's origin refused, it still lists the
    routes (it once loaded its code from a CDN, blank without internet)."""
    from playwright.sync_api import expect, sync_playwright

    base, _ = api
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.route(re.compile(r"^(?!" + re.escape(base) + ").*"),
                       lambda route: (outside.append(route.request.url), route.abort()))
            page.goto(base + "/docs")
            expect(page.locator(".opblock-summary-path", has_text="/v1/pulse/history/{kind}/{name}")).to_be_visible()
            assert outside == []
        finally:
            browser.close()


@pytest.fixture
def api(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with running_api(redis_url, tmp_path, PULSE_API_SPIKE_CHECK_S="0.5") as started:  # spikes re-read quickly
        yield started


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (make test installs Debian's chromium as root)")
def test_page_shows_parties_side_by_side_and_updates_live(api: tuple[str, str], redis_url: str,
                                                           tmp_path: Path, web_packages: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, prefix = api
    now = minute_safe_now()
    seed(redis_url, prefix, [(scored(1, "Joe Biden", "Democrats", "FAVOR").model_copy(update={"source": "demo"}), now),
                             (scored(2, "Donald Trump", "Republicans", "AGAINST").model_copy(
                                 update={"source": "demo"}), now)])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.goto(base + "/?history_every=1")
            dem = page.locator('[data-party="Democrats"]')
            rep = page.locator('[data-party="Republicans"]')
            expect(page.locator("#status")).to_have_text("live")
            # what is counted, and that it is the demo sample, not live posts
            expect(page.locator("#provenance")).to_contain_text("2 posts from the bundled demo sample (not live posts)")
            expect(page.locator("#provenance")).to_have_class(re.compile(r"\bdemo\b"))
            expect(dem.locator('[data-field="total"]')).to_have_text("1")
            # the figure to quote: corrected by the served model's error rates, with its interval and a sentence
            headline = dem.locator('.headline[data-field="headline"]')
            expect(headline).to_have_attribute("data-basis", "corrected")
            expect(headline.locator(".fig.favor")).to_contain_text(re.compile(r"\d+% in favour \d+–\d+%"))
            expect(headline.locator(".basis").first).to_have_text("corrected for the model's errors")
            expect(headline.locator(".basis.few")).to_have_text("too few posts to quote")  # 1 post
            expect(headline.locator('[data-field="sentence"]')).to_contain_text(
                "Of 1 rating of Democrats' candidates in the last 15 minutes, an estimated")
            expect(rep.locator('[data-field="against"]')).to_have_text("1")
            expect(rep.locator('[data-field="net"]')).to_have_text("net -1.00")
            # how far to trust it: per candidate, the model's measured agreement with people, behind an info button
            button, info = dem.locator('.info-btn[data-info="Joe Biden"]'), dem.locator('[data-panel="Joe Biden"]')
            expect(info).to_be_hidden()
            button.click()
            expect(button).to_have_attribute("aria-expanded", "true")
            expect(info.locator("li").filter(has_text="KE-MLM test")).to_have_text(re.compile(
                r"On 375 tweets about Biden and Trump, January–September 2020\s+\(KE-MLM test\), it agreed with "
                r"the\s+people who labelled them on\s+\d+% \(macro-F1 \d+\)\."))
            expect(info.locator('a[href="/v1/model/card"]')).to_be_visible()
            expect(dem.locator('[data-panel="Kamala Harris"]')).to_contain_text("Never measured")
            # and a paragraph on how to read the page, folded until asked for
            page.locator("#how-to-read summary").click()
            expect(page.locator("#how-to-read")).to_contain_text("The large figures on each card are the ones to quote")
            expect(page.locator("#chart")).to_have_attribute("data-total", "2")  # the window's series so far
            box_d, box_r = dem.bounding_box(), rep.bounding_box()
            assert box_d and box_r and box_d["x"] < box_r["x"] and abs(box_d["y"] - box_r["y"]) < 1  # side by side

            # New counts arrive: the aggregator's store publishes and the page follows without a reload.
            # (in a thread: Playwright's sync API keeps an event loop running in this one)
            more = [(scored(i, "Joe Biden", "Democrats", "FAVOR"), time.time()) for i in range(3, 6)]
            # two of them about Harris too (unrated): the same posts, so they add nothing to Democrats' posts
            more += [(scored(i, "Kamala Harris", "Democrats", "UNRATED").model_copy(update={"first_for_party": False}),
                      time.time()) for i in range(3, 5)]
            with ThreadPoolExecutor(1) as pool:
                pool.submit(seed, redis_url, prefix, more).result()
            with redis.Redis.from_url(redis_url) as client:
                client.publish(f"{prefix}:updates", '{"counted": 3}')
            expect(dem.locator('[data-field="total"]')).to_have_text("4", timeout=10_000)
            expect(info).to_be_visible()  # the opened panel stays open through the update
            # the served model has no training data for Harris: the page says so instead of counting
            expect(dem.locator('[data-target="Kamala Harris"] [data-field="unscored"]')).to_contain_text(
                "not rated: 2 posts")
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
            # the history chart draws the series from /v1/pulse/history and follows new counts
            expect(page.locator("#chart canvas")).to_have_count(1)
            expect(page.locator("#chart")).to_have_attribute("data-points", "15")  # the 15-minute window, by minute
            expect(page.locator("#chart")).to_have_attribute("data-total", "5")  # extended by the new posts
            # 4 of the 5 posts are about Democrats (2 of them about two Democrats)
            expect(dem.locator('[data-field="voice"]')).to_contain_text("share of voice 80.0%")
            # the words behind a label are marked in the text (the explanation infer attaches)
            explained = scored(9, "Donald Trump", "Republicans", "AGAINST").model_copy(update={
                "text": "Trump is a LIAR, vote him out", "explanation": [("liar", 0.9), ("vote", -0.4), ("is", 0.05)]})
            with ThreadPoolExecutor(1) as pool:
                pool.submit(seed, redis_url, prefix, [(explained, time.time())]).result()
            with redis.Redis.from_url(redis_url) as client:
                client.publish(f"{prefix}:updates", '{"counted": 1}')
            expect(page.locator("#recent li mark.toward")).to_have_text("LIAR,")
            expect(page.locator("#recent li mark.away")).to_have_text("vote")
            expect(page.locator("#recent li mark")).to_have_count(2)  # "is" weighs too little next to "liar"
            # a burst on a quiet target: a spike, marked on the chart; its marker opens the posts behind it
            burst = [(scored(100 + i, "Donald Trump", "Republicans", "AGAINST"), time.time()) for i in range(12)]
            with ThreadPoolExecutor(1) as pool:
                pool.submit(seed, redis_url, prefix, burst).result()
            with redis.Redis.from_url(redis_url) as client:
                client.publish(f"{prefix}:updates", '{"counted": 12}')
            page.select_option("#filter", "")
            marker = page.locator('#chart .spike-marker[data-target="Donald Trump"]')
            expect(marker).to_have_count(1, timeout=15_000)
            expect(page.locator("#spikes")).to_contain_text("Donald Trump (14 posts in 5 min, usually 0)")
            marker.click()
            expect(page.locator("#filter")).to_have_value("target=Donald%20Trump")
            expect(page.locator("#recent li")).to_have_count(12)
            expect(page.locator("#recent li .meta").filter(has_text="toward Donald Trump")).to_have_count(12)
            # a target whose correction is not trusted (the served bundle's Hillary Clinton): the party card says
            # why it shows no corrected shares instead of dropping them silently
            with ThreadPoolExecutor(1) as pool:
                pool.submit(seed, redis_url, prefix, [(scored(200, "Hillary Clinton", "Democrats", "FAVOR"),
                                                       time.time())]).result()
            with redis.Redis.from_url(redis_url) as client:
                client.publish(f"{prefix}:updates", '{"counted": 1}')
            headline = dem.locator('.headline[data-field="headline"]')
            expect(headline).to_have_attribute("data-basis", "raw")
            expect(headline.locator(".basis").first).to_have_text("the model's labels, uncorrected")
            expect(headline.locator('[data-field="sentence"]')).to_contain_text(
                "These are its labels uncorrected: the figures for Hillary Clinton cannot be corrected, and the "
                "party's include them.")
            expect(dem.locator('[data-target="Hillary Clinton"] .short')).to_have_text(
                "100% for · 0% against (uncorrected)")
            # no serious or critical accessibility violation (axe-core, pinned in web/)
            page.add_script_tag(path=str(web_packages / "axe-core" / "axe.min.js"))
            violations = page.evaluate("async () => (await axe.run()).violations"
                                       ".filter(v => ['serious', 'critical'].includes(v.impact))"
                                       ".map(v => v.id + ': ' + v.nodes.map(n => n.target).join(' '))")
            assert violations == []
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (make test installs Debian's chromium as root)")
def test_posts_link_to_their_original_and_unsure_labels_are_marked(api: tuple[str, str], redis_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, prefix = api
    now = minute_safe_now()
    sure = scored(1, "Joe Biden", "Democrats", "FAVOR").model_copy(
        update={"id": "at://did:plc:abc123/app.bsky.feed.post/3kxyz", "source": "bluesky", "author": "did:plc:abc123"})
    unsure = scored(2, "Donald Trump", "Republicans", "AGAINST").model_copy(
        update={"id": "x:1790000000000000001", "source": "x",
                "probs": {"FAVOR": 0.3, "AGAINST": 0.45, "NONE": 0.25}})
    seed(redis_url, prefix, [(sure, now), (unsure, now)])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(base + "/")
            posts = page.locator("#recent li")
            expect(posts).to_have_count(2)
            biden, trump = posts.filter(has_text="toward Joe Biden"), posts.filter(has_text="toward Donald Trump")
            expect(biden.locator("a", has_text="original")).to_have_attribute(
                "href", "https://bsky.app/profile/did:plc:abc123/post/3kxyz")
            expect(trump.locator("a", has_text="original")).to_have_attribute(
                "href", "https://x.com/i/web/status/1790000000000000001")
            expect(trump.locator('[data-field="confidence"]')).to_have_text(
                "confidence 0.45 (low: the model is unsure)")
            expect(trump).to_have_class(re.compile(r"\blow\b"))
            expect(biden.locator('[data-field="confidence"]')).to_have_text("confidence 0.80")
            expect(biden.locator('[data-field="author"]')).to_have_text("a Bluesky account")  # never the raw DID
            expect(page.locator("#provenance")).to_contain_text("1 post from Bluesky")
            expect(page.locator("#provenance")).to_contain_text("1 post from X")
        finally:
            browser.close()


def download_text(page: Any, click: Callable[[], None]) -> str:
    with page.expect_download() as info:
        click()
    return Path(info.value.path()).read_text(encoding="utf-8")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (make test installs Debian's chromium as root)")
def test_the_chart_follows_the_window_shows_volume_takes_a_date_range_and_exports(
        api: tuple[str, str], redis_url: str, web_packages: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, prefix = api
    now = minute_safe_now()
    earlier = [(scored(i, "Donald Trump", "Republicans", "AGAINST", minutes_ago=30), now - 1800) for i in range(2)]
    seed(redis_url, prefix, [(scored(10 + i, "Joe Biden", "Democrats", "FAVOR"), now) for i in range(3)] + earlier)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
            page.goto(base + "/?history_every=1")
            chart = page.locator("#chart")
            # the window chosen is the window shown: 15 minutes by minute, the posts of 30 minutes ago outside it
            expect(page.locator("#history-range")).to_have_text("last 15 min, by minute")
            expect(chart).to_have_attribute("data-points", "15")
            expect(chart).to_have_attribute("data-posts", "3")
            # volume beside net stance, and a legend that reads the latest point with the pointer off the chart
            legend = page.locator(".u-legend")
            expect(legend.locator("tr", has_text="Democrats net").locator(".u-value")).to_have_text("+1.00")
            expect(legend.locator("tr", has_text="Democrats posts").locator(".u-value")).to_have_text("3")
            expect(legend.locator("tr", has_text="Republicans posts").locator(".u-value")).to_have_text("0")
            page.click('#windows button[data-window="1h"]')
            expect(page.locator("#history-range")).to_have_text("last hour, by minute")
            expect(chart).to_have_attribute("data-points", "60")
            expect(chart).to_have_attribute("data-posts", "5")
            # export what the chart shows, both parties in one file, and the latest posts, with ISO 8601 times
            series = download_text(page, lambda: page.click("#export-series"))
            rows = list(csv.DictReader(io.StringIO(series)))
            assert len(rows) == 120 and sum(int(r["total"]) for r in rows) == 5
            assert {r["party"] for r in rows} == {"Democrats", "Republicans"}
            assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", r["start"]) for r in rows)
            posts = list(csv.DictReader(io.StringIO(download_text(page, lambda: page.click("#export-posts")))))
            assert len(posts) == 5 and {p["label"] for p in posts} == {"FAVOR", "AGAINST"}
            # an absolute range: 40 to 20 minutes ago holds the two earlier posts only
            page.fill("#range-from", page.evaluate("(t) => localInput(t)", now - 40 * 60))
            page.fill("#range-to", page.evaluate("(t) => localInput(t)", now - 20 * 60))
            page.click("#range-form button[type=submit]")
            expect(page.locator("#history-range")).to_contain_text(", by minute")
            expect(chart).to_have_attribute("data-posts", "2")
            expect(page.locator("#range-live")).to_be_visible()
            page.fill("#range-from", page.evaluate("(t) => localInput(t)", now - 10 * 60))
            page.click("#range-form button[type=submit]")
            expect(page.locator("#range-error")).to_have_text("the start must be before the end")
            page.click("#range-live")
            expect(page.locator("#history-range")).to_have_text("last hour, by minute")
            expect(chart).to_have_attribute("data-posts", "5")

            # on a phone, a burst's spike marker is the shape alone, inside the plot, off the axes
            burst = [(scored(100 + i, "Donald Trump", "Republicans", "AGAINST"), time.time()) for i in range(12)]
            with ThreadPoolExecutor(1) as pool:
                pool.submit(seed, redis_url, prefix, burst).result()
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(base + "/?history_every=1")
            marker = phone.locator('#chart .spike-marker[data-target="Donald Trump"]')
            expect(marker).to_have_text("▲", timeout=15_000)
            plot, box = phone.locator("#chart .u-over").bounding_box(), marker.bounding_box()
            assert plot and box and plot["x"] <= box["x"] and box["x"] + box["width"] <= plot["x"] + plot["width"]
            expect(phone.locator("#spikes")).to_contain_text("Donald Trump (")
            assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")  # nothing wider than a phone
            # the chart's controls, the headline and the info buttons pass axe at a phone's width too
            phone.click('.info-btn[data-info="Donald Trump"]')
            phone.add_script_tag(path=str(web_packages / "axe-core" / "axe.min.js"))
            violations = phone.evaluate("async () => (await axe.run()).violations"
                                        ".filter(v => ['serious', 'critical'].includes(v.impact))"
                                        ".map(v => v.id + ': ' + v.nodes.map(n => n.target).join(' '))")
            assert violations == []
        finally:
            browser.close()

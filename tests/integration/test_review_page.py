"""The review page in a real headless Chromium: a reviewer labels posts with the keyboard, and the labels survive
kill -9 of Redis (its append-only file) and a new API process, read back after both restart; the live page then
says how the model did on the reviewed posts and quotes shares corrected with those error rates."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest

from models.runtime.bundle import resolve_bundle
from services.dev.servers import free_port, start_redis
from tests.integration.harness import running_api
from tests.integration.test_page_browser import CHROMIUM, web_packages  # noqa: F401  (a fixture)
from tests.integration.test_review import TOKENS, auth, count, scored

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (make test installs Debian's chromium as root)")
def test_a_reviewer_labels_with_the_keyboard_and_the_labels_survive_kill_9(tmp_path: Path,
                                                                           web_packages: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    redis_server = start_redis(port=port, data_dir=tmp_path / "redis", log_dir=tmp_path)
    env = {"PULSE_API_REVIEWER_TOKENS": json.dumps(TOKENS), "PULSE_API_LIVE_QUALITY_MIN_ITEMS": "2"}
    version = resolve_bundle("").meta.version  # the model running_api announces
    try:
        with running_api(redis_server.address, tmp_path, **env) as (base, prefix):
            count(redis_server.address, prefix, [scored(i, target).model_copy(update={"model_version": version})
                                                 for i in range(12) for target in ("Joe Biden", "Donald Trump")],
                  rate=1.0)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                try:
                    page = browser.new_page()
                    page.goto(base + "/review")
                    page.fill("#token", TOKENS["r1"])
                    page.press("#token", "Enter")
                    shown: list[str] = []
                    for key in ("f", "a", "o", "s", "n"):
                        expect(page.locator("#text")).to_contain_text("post ")
                        question = page.locator("#question").inner_text()
                        assert "model" not in page.locator("#item").inner_text().lower()  # its label is hidden
                        shown.append(page.locator("#text").inner_text() + " | " + question)
                        page.keyboard.press(key)
                        expect(page.locator("#done")).to_have_text(f"{len(shown)} labelled in this session")
                    assert len(set(shown)) == 5  # a new post after each label
                    assert page.evaluate("document.cookie") == ""  # the token is not a cookie
                    page.add_script_tag(path=str(web_packages / "axe-core" / "axe.min.js"))
                    violations = page.evaluate("async () => (await axe.run()).violations"
                                               ".filter(v => ['serious', 'critical'].includes(v.impact))"
                                               ".map(v => v.id + ': ' + v.nodes.map(n => n.target).join(' '))")
                    assert violations == []
                    # a wrong token: back to the token field, with the reason
                    page.evaluate("sessionStorage.setItem('pulse-reviewer-token', 'not-a-reviewer-token')")
                    page.keyboard.press("f")
                    expect(page.locator("#message")).to_have_text("That token was not accepted.")
                    expect(page.locator("#token")).to_be_visible()
                finally:
                    browser.close()
        # kill -9 of Redis (the API stopped with the block above): what it answered is in its append-only file
        redis_server.proc.send_signal(signal.SIGKILL)
        redis_server.proc.wait(10)
        redis_server = start_redis(port=port, data_dir=tmp_path / "redis", log_dir=tmp_path)
        with running_api(redis_server.address, tmp_path, prefix=prefix, **env) as (base, _):
            figures = httpx.get(f"{base}/v1/review/quality", headers=auth("r2"), timeout=10).json()["targets"]
            reference = sum((Counter(t["reference"]) for t in figures.values()), Counter())
            assert reference == {"FAVOR": 1, "AGAINST": 1, "OFF_TARGET": 1, "NONE": 1}
            assert sum(t["skipped"] for t in figures.values()) == 1
            # the live page's info panel says how the model did on this stream, for a target with enough reviews
            reviewed = max(figures, key=lambda t: figures[t]["items"])
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                try:
                    page = browser.new_page()
                    page.goto(base + "/")
                    page.locator(f'.info-btn[data-info="{reviewed}"]').click()
                    live = page.locator(f'[data-panel="{reviewed}"] [data-field="live-quality"]')
                    expect(live).to_contain_text(f"people reviewed {figures[reviewed]['items']} posts about {reviewed}")
                    expect(live).to_contain_text("The shares are corrected with these error rates.")
                    expect(live).to_contain_text(f"macro-F1 {figures[reviewed]['macro_f1']:.0f}")
                    # and the figure to quote says so: its sentence, in the panel and on the short headline
                    sentence = f"as measured on {figures[reviewed]['items']} posts of this stream that people reviewed"
                    expect(page.locator(f'[data-panel="{reviewed}"]')).to_contain_text(sentence)
                    short = page.locator(f'.target[data-target="{reviewed}"] .short[data-field="headline"]')
                    expect(short).to_have_attribute("data-basis", "corrected")
                    assert sentence in (short.get_attribute("title") or "")
                    # the review page counts everyone's labels per target, read back from the restarted Redis
                    page.goto(base + "/review")
                    page.fill("#token", TOKENS["r2"])
                    page.press("#token", "Enter")
                    page.locator(".tally-box summary").click()
                    for target, tq in figures.items():
                        expect(page.locator(f'#tally li[data-target="{target}"]')).to_have_text(
                            f"{tq['items']} about {target}")
                    expect(page.locator('#tally li[data-target="Kamala Harris"]')).to_have_text(
                        "0 about Kamala Harris (not rated yet: these labels start its training set)")
                finally:
                    browser.close()
    finally:
        redis_server.stop()


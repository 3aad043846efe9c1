"""The README's picture of the page: `python -m services.dev.screenshot [--url URL] [--out PNG]` against a running
`pulse up`, in headless Chromium (Debian's package; Playwright drives it, as in the browser test).

It waits until the page is live, the chart has drawn and the recent tweets are in, so the picture shows what a
reader sees after a few minutes of a replay, not a half-loaded page.
"""

from __future__ import annotations

import argparse
import os
import shutil


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--url", default="http://127.0.0.1:8000/")
    p.add_argument("--out", default="docs/pulse-page.png")
    p.add_argument("--width", type=int, default=1200)
    args = p.parse_args(argv)
    chromium = os.environ.get("PULSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        p.error("no chromium binary: apt-get install chromium, or set PULSE_CHROMIUM")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(args.url)
            expect(page.locator("#status")).to_have_text("live", timeout=30_000)
            expect(page.locator("#chart canvas")).to_have_count(1, timeout=30_000)
            expect(page.locator("#recent li").first).to_be_visible(timeout=30_000)
            page.wait_for_timeout(1_000)  # the bars' width transition
            page.screenshot(path=args.out, full_page=True)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

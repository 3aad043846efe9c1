"""The one figure to quote for each party and target, and the sentence that says it.

Where the correction is served, the headline is the corrected FAVOR / AGAINST / NONE shares with their 95%
intervals (services/api/shares.py). Elsewhere it is the shares of the model's own labels, with a 95% Wilson
interval that covers counting noise only, and the sentence says they are uncorrected and why. Pure functions over
a snapshot's dict, before it is validated into the API's models.
"""

from __future__ import annotations

import math
from typing import Any

from services.common.schemas import LABELS

Z95 = 1.959964
# Below this many rated posts a share's 95% interval is wider than ±17 points even before the model's errors
# (Wilson at 50%, n = 30: 33–67%): the figure is shown, and the sentence says it is too few to quote.
ENOUGH_POSTS = 30
WINDOW_WORDS = {"1m": "in the last minute", "5m": "in the last 5 minutes", "15m": "in the last 15 minutes",
                "1h": "in the last hour", "24h": "in the last 24 hours", "all": "since counting began"}


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n: stays inside [0, 1] and is honest at small n (a weighted
    sample gives its effective size as n and k in proportion)."""
    if n <= 0:
        raise ValueError("n must be positive")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _raw_shares(figures: dict[str, Any]) -> dict[str, dict[str, float]]:
    n = figures["total"]
    out = {}
    for label in LABELS:
        k = figures[label.lower()]
        low, high = wilson(k, n)
        out[label.lower()] = {"estimate": round(k / n, 4), "low": round(low, 4), "high": round(high, 4)}
    return out


def _pct(share: dict[str, float], interval: bool) -> str:
    text = f"{round(100 * share['estimate'])}%"
    return f"{text} ({round(100 * share['low'])}–{round(100 * share['high'])}%)" if interval else text


def _about(kind: str, name: str, figures: dict[str, Any]) -> str:
    if kind == "target":
        return f"{figures['total']:,} {'post' if figures['total'] == 1 else 'posts'} about {name}"
    possessive = f"{name}'" if name.endswith("s") else f"{name}'s"
    mentions = f"{figures['total']:,} {'rating' if figures['total'] == 1 else 'ratings'} of {possessive} candidates"
    if figures.get("posts") and figures["posts"] != figures["total"]:
        mentions += f" (in {figures['posts']:,} posts: a post about two counts for each)"
    return mentions


def _errors(shares: dict[str, Any]) -> str:
    reviewed = shares.get("reviewed") or 0
    if shares.get("error_rates") == "live":
        return f"errors as measured on {reviewed:,} posts of this stream that people reviewed"
    if shares.get("error_rates") == "mixed":
        return "measured errors (on posts of this stream that people reviewed, for some of the candidates)"
    return "measured errors"


def headline(kind: str, name: str, figures: dict[str, Any], window: str) -> dict[str, Any] | None:
    """The headline of one party's or target's figures (with `shares` and `shares_unavailable` set), or None
    when nothing rated was counted."""
    if figures["total"] == 0:
        return None
    when = WINDOW_WORDS.get(window, f"in the last {window}")
    about = _about(kind, name, figures)
    enough = figures["total"] >= ENOUGH_POSTS
    few = "" if enough else f" Too few to quote: the figures firm up from {ENOUGH_POSTS} posts."
    if figures.get("shares"):
        shares = {label.lower(): figures["shares"][label.lower()] for label in LABELS}
        sentence = (f"Of {about} {when}, an estimated {_pct(shares['favor'], True)} were in favour and "
                    f"{_pct(shares['against'], True)} against, corrected for the model's {_errors(figures['shares'])}."
                    f"{few}")
        return {"basis": "corrected", **shares, "enough_posts": enough, "sentence": sentence,
                "error_rates": figures["shares"].get("error_rates")}
    shares = _raw_shares(figures)
    why = figures.get("shares_unavailable") or "the model's error rates are unknown"
    sentence = (f"Of {about} {when}, the model labelled {_pct(shares['favor'], False)} in favour and "
                f"{_pct(shares['against'], False)} against. These are its labels uncorrected: {why}.{few}")
    return {"basis": "raw", **shares, "enough_posts": enough, "sentence": sentence}


def add_headlines(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Sets `headline` on every party and target of a snapshot whose shares are annotated."""
    for kind, key in (("party", "parties"), ("target", "targets")):
        for name, figures in snapshot[key].items():
            figures["headline"] = headline(kind, name, figures, snapshot["window"])
    return snapshot

"""The address of a post's original, from the id its source gave it (services/ingest/sources)."""

from __future__ import annotations

import re

BLUESKY = re.compile(r"^at://(did:[a-z0-9]+:[A-Za-z0-9._:%-]+)/app\.bsky\.feed\.post/([A-Za-z0-9._~-]+)$")
X = re.compile(r"^x:(\d{1,25})$")
WEB = re.compile(r"^https://[^\s\"'<>~]+$")  # Mastodon: the ActivityPub id is the post's web address


def original_url(post_id: str) -> str | None:
    """Bluesky at:// URIs → bsky.app, X ids → x.com, https ids (Mastodon) as they are; None for other sources
    (replays, posts sent to the API). A looped replay's "~k" suffix never makes a link."""
    if m := BLUESKY.match(post_id):
        return f"https://bsky.app/profile/{m[1]}/post/{m[2]}"
    if m := X.match(post_id):
        return f"https://x.com/i/web/status/{m[1]}"
    return post_id if WEB.match(post_id) else None

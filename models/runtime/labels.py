"""The stance labels, declared once: the data readers, the bundle, the messages and the API all read these."""

from __future__ import annotations

import hashlib
from typing import Literal, get_args

Label = Literal["FAVOR", "AGAINST", "NONE"]
LABELS: tuple[Label, ...] = get_args(Label)


def held_out(key: str, share: float) -> bool:
    """Whether a labelled post is in the held-out part that a retrained model is measured on: fixed by a hash of
    its key (the post's id), so every export splits the same way and a post about two targets is held out for both.
    Training also drops any post whose text equals a held-out one (a repost), so held out means unseen."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2**64 < share

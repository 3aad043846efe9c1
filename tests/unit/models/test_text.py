from __future__ import annotations

import numpy as np
import pytest

from models.runtime.bundle import Bundle
from models.runtime.text import PAD_ID, Tokenizer, normalise, pad, target_prefix


def test_normalise_marks_urls_caps_hashtags_and_repeats() -> None:
    out = normalise("SO proud of #FeelTheBern!!!! https://t.co/xyz soooooo good &amp; true")
    assert "xxurl" in out and "http" not in out
    assert "xxup so" in out
    assert "# feel the bern" in out
    assert "sooo " in out and "soooo" not in out
    assert "& true" in out
    assert out == out.lower()


def test_normalise_keeps_mentions_and_emoji() -> None:
    out = normalise("@realDonaldTrump 🇺🇸🔥 ok")
    assert out.startswith("@realdonaldtrump")
    assert "🔥" in out


def test_serving_and_training_paths_give_identical_ids(fixture_bundle: Bundle) -> None:
    tok = Tokenizer(fixture_bundle.tokenizer_path, fixture_bundle.meta.max_len)
    texts = ["I love Bernie!!! #FeelTheBern", "Biden is a DISASTER https://x.y", "🇺🇸 @KamalaHarris ok"]
    targets = ["Bernie Sanders", "Joe Biden", "Kamala Harris"]
    batch = tok.encode_batch(texts, targets)
    for i, (text, target) in enumerate(zip(texts, targets, strict=True)):
        one = tok.encode(text, target)  # the training path
        assert batch.lengths[i] == len(one)
        assert batch.ids[i, : len(one)].tolist() == one
        assert (batch.ids[i, len(one):] == PAD_ID).all()


def test_target_prefix_conditions_the_ids(fixture_bundle: Bundle) -> None:
    tok = Tokenizer(fixture_bundle.tokenizer_path, fixture_bundle.meta.max_len)
    a, b = tok.encode("great speech", "Joe Biden"), tok.encode("great speech", "Donald Trump")
    assert a != b
    assert a[len(tok.prefix_ids("Joe Biden")):] == b[len(tok.prefix_ids("Donald Trump")):]  # same body ids
    assert target_prefix("Joe Biden") == "xxtgt joe biden xxsep"


def test_long_text_is_truncated_but_keeps_the_prefix(fixture_bundle: Bundle) -> None:
    tok = Tokenizer(fixture_bundle.tokenizer_path, max_len=12)
    ids = tok.encode("word " * 200, "Joe Biden")
    assert len(ids) == 12
    assert ids[: len(tok.prefix_ids("Joe Biden"))] == tok.prefix_ids("Joe Biden")


def test_pad_right_pads_with_lengths() -> None:
    enc = pad([[5, 6, 7], [8]])
    assert enc.ids.dtype == np.int64 and enc.ids.shape == (2, 3)
    assert enc.lengths.tolist() == [3, 1]
    assert enc.ids[1].tolist() == [8, PAD_ID, PAD_ID]


def test_target_at_both_ends_frames_the_tweet_and_keeps_both_markers_when_truncating(fixture_bundle: Bundle) -> None:
    start = Tokenizer(fixture_bundle.tokenizer_path, max_len=40)
    both = Tokenizer(fixture_bundle.tokenizer_path, max_len=40, target_position="both")
    prefix = both.prefix_ids("Joe Biden")  # BOS + "xxtgt joe biden xxsep"
    short = both.encode("great speech", "Joe Biden")
    assert short[: len(prefix)] == prefix and short[-(len(prefix) - 1):] == prefix[1:]  # the marker again, no BOS
    assert short[len(prefix): -(len(prefix) - 1)] == start.encode("great speech", "Joe Biden")[len(prefix):]
    long = both.encode("word " * 200, "Joe Biden")
    assert len(long) == 40 and long[: len(prefix)] == prefix and long[-(len(prefix) - 1):] == prefix[1:]
    texts, targets = ["great speech", "word " * 200, "🇺🇸 ok"], ["Joe Biden", "Joe Biden", "Bernie Sanders"]
    batch = both.encode_batch(texts, targets)  # the serving path gives the training path's ids
    for i, (text, target) in enumerate(zip(texts, targets, strict=True)):
        assert batch.ids[i, : batch.lengths[i]].tolist() == both.encode(text, target)


def test_an_unknown_target_position_is_refused(fixture_bundle: Bundle) -> None:
    with pytest.raises(ValueError, match="target_position must be one of start, both"):
        Tokenizer(fixture_bundle.tokenizer_path, max_len=40, target_position="end")

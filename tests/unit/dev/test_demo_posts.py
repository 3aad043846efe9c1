"""The demo's real posts, built from a small data folder in the shared data's layout."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from services.common.routing import Router
from services.dev.demo_posts import CALM, SOURCE_NAME, WAVE, DemoPost, held_out_posts, in_waves
from services.dev.up import demo_replay, sample_file


def write_data(root: Path, per_target: int = 40) -> Path:
    """pstance/, election2020_kemlm/ and semeval2016_stance/ with `per_target` tweets per target and set, plus a
    tweet that names no target (the router drops it)."""
    (root / "pstance" / "with_none").mkdir(parents=True)
    for name, target in (("trump", "Donald Trump"), ("biden", "Joe Biden"), ("bernie", "Bernie Sanders")):
        rows = [(f"{target} said thing {i} #{name}", target, "FAVOR") for i in range(per_target)]
        rows.append(("the weather is nice", target, "NONE"))
        for folder in (root / "pstance", root / "pstance" / "with_none"):
            with (folder / f"raw_val_{name}.csv").open("w", newline="") as fh:
                csv.writer(fh).writerows([("Tweet", "Target", "Stance"), *rows])
    (root / "election2020_kemlm").mkdir()
    for name in ("biden", "trump"):
        with (root / "election2020_kemlm" / f"{name}_stance_test_public.csv").open("w", newline="") as fh:
            csv.writer(fh).writerows([("tweet_id", "text", "label")] +
                                     [(str(i), f"kemlm {name} post {i}", "AGAINST") for i in range(per_target)])
    (root / "semeval2016_stance").mkdir()
    lines = ["ID\tTarget\tTweet\tStance"] + [f"{i}\tHillary Clinton\tHillary tweet {i} #SemST\tAGAINST"
                                              for i in range(per_target)]
    for task in ("A", "B"):
        (root / "semeval2016_stance" / f"SemEval2016-Task6-subtask{task}-testdata-gold.txt").write_text(
            "\r\n".join(lines) + "\r\n", encoding="cp1252")
    return root


def test_only_routed_held_out_tweets_are_kept_each_once(tmp_path: Path) -> None:
    posts = held_out_posts(write_data(tmp_path), Router.load())
    assert Counter(p.target for p in posts) == {"Donald Trump": 80, "Joe Biden": 80, "Bernie Sanders": 40,
                                                "Hillary Clinton": 40}
    assert not any("weather" in p.text for p in posts)  # names no one: a live stream would not route it either
    assert {p.evaluation_set for p in posts} == {"pstance_val_3class", "kemlm_test", "semeval_testA_hillary"}


def test_waves_follow_calm_stretches_and_every_post_comes_once() -> None:
    posts = [DemoPost("s", f"post {t} {i}", t) for t in ("A", "B", "C") for i in range(600)]
    order = in_waves(posts)
    assert sorted(p.text for p in order) == sorted(p.text for p in posts)
    first_wave = order[CALM:CALM + WAVE]
    assert len({p.target for p in first_wave}) == 1  # a wave is about one target
    assert len({p.target for p in order[:CALM]}) == 3  # a calm stretch mixes them
    second_wave = order[2 * CALM + WAVE:2 * CALM + 2 * WAVE]
    assert {p.target for p in second_wave} != {p.target for p in first_wave}  # the targets take turns


def test_pulse_up_replays_the_research_tweets_when_the_data_is_there_else_the_sample(tmp_path: Path) -> None:
    path, source = demo_replay(write_data(tmp_path / "data"), tmp_path / "var")
    assert source == SOURCE_NAME and path.parent == tmp_path / "var" / "demo"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 240 and len({r["id"] for r in records}) == 240
    assert all(r["id"].startswith("demo-") and r["lang"] == "en" for r in records)
    assert demo_replay(tmp_path / "nowhere", tmp_path / "var") == (sample_file(), "demo")

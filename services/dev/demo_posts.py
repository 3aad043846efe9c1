"""The demo's posts: real tweets from the labelled research sets the model never trained on, replayed in waves.

`pulse up` with no source replays these when the data folder is there (PULSE_DEMO_DATA, default ../shared/data),
so a first look shows real posts and the model as it really performs on them. The tweets are not shipped: their
datasets are for research use and tweets are subject to X's terms, so they are read from the data folder at start,
and the page labels them as a demo, not live posts. Without the folder, the templated sample is replayed instead.

The held-out sets are the ones the bundle is measured on (models/training/corpus.py: P-Stance validation, KE-MLM
test, SemEval-2016 test A about Hillary Clinton), kept only where the router finds a target, as a live stream
would be. The order has a time profile: calm stretches mixing every target, then a wave about one target (as a
debate or a news story brings), so the chart's volume moves as a real evening's would.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from services.common.routing import Router

SOURCE_NAME = "demo-research"  # the source the page names: research tweets replayed, not live posts
SETS = ("pstance_val_3class", "kemlm_test", "semeval_testA_hillary")  # the 2-class P-Stance set repeats the first
CALM, WAVE = 300, 150  # posts per calm stretch and per wave


@dataclass(frozen=True)
class DemoPost:
    evaluation_set: str
    text: str
    target: str  # the first target the router finds in it


def held_out_posts(data_dir: Path, router: Router) -> list[DemoPost]:
    """The held-out tweets the router routes, each once (a tweet in two sets is kept from the first)."""
    from models.training.corpus import DataDir  # the readers of the labelled sets: no torch

    sets = DataDir(data_dir).eval_sets()
    seen: set[str] = set()
    out = []
    for key in SETS:
        for example in sets[key]:
            routes = router.route(example.text)
            if routes and example.text not in seen:
                seen.add(example.text)
                out.append(DemoPost(key, example.text, routes[0].target))
    return out


def in_waves(posts: list[DemoPost], seed: int = 0) -> list[DemoPost]:
    """Calm stretches of CALM posts about anyone, each followed by a wave of up to WAVE posts about one target,
    the targets taking turns; every post once."""
    rng = random.Random(seed)
    by_target: dict[str, list[DemoPost]] = {}
    for post in rng.sample(posts, len(posts)):
        by_target.setdefault(post.target, []).append(post)
    targets = sorted(by_target)
    waves = {t: by_target[t][:len(by_target[t]) // 3] for t in targets}  # a third of each target's posts in waves
    calm = [p for t in targets for p in by_target[t][len(waves[t]):]]
    rng.shuffle(calm)
    out: list[DemoPost] = []
    turn = 0
    while calm or any(waves.values()):
        out += calm[:CALM]
        del calm[:CALM]
        for _ in range(len(targets)):  # the next target with posts left makes the wave
            target = targets[turn % len(targets)]
            turn += 1
            if waves[target]:
                out += waves[target][:WAVE]
                del waves[target][:WAVE]
                break
    return out


def write_demo(data_dir: Path, out: Path, router: Router) -> int:
    """Writes the demo replay as JSON Lines (ids `demo-<set>-<n>`); returns how many posts."""
    posts = in_waves(held_out_posts(data_dir, router))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for n, post in enumerate(posts):
            fh.write(json.dumps({"id": f"demo-{post.evaluation_set}-{n}", "text": post.text, "lang": "en"}) + "\n")
    tmp.replace(out)
    return len(posts)

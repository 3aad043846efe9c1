"""`pulse labels export`: the reviewers' labels as training data (`Tweet,Target,Stance`, what `pulse train`,
`pulse eval` and `make train-cpu` read), with a held-out part fixed by a hash of each post.

An item's stance is its reviewers' majority, OFF_TARGET read as NONE (a post routed to a target it is not about has
no stance toward it; `--off-target drop` leaves such items out instead), skips aside; a tie is left out and counted.
`pulse labels texts`: the stream's own text kept for the language model (services/aggregate/redis_store.py), one
post a line, for the target-domain fine-tuning (`models.training.ulmfit --extra-lm-text`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from models.runtime.labels import held_out
from services.api.review import ReviewStore
from services.api.review_stats import OFF_TARGET, SKIP, stance_of
from services.api.store import PulseReader
from services.common.logging import configure_logging
from services.common.redis_clients import async_client, layout
from services.common.routing import Router
from services.common.settings import RedisSettings, RoutingSettings

log = logging.getLogger(__name__)
COLUMNS = ("Tweet", "Target", "Stance", "id", "votes", "model_label")


@dataclass(frozen=True)
class Row:
    text: str
    target: str
    stance: str
    item: str
    votes: int
    model_label: str


def consolidate(votes: list[dict[str, object]], off_target: str = "none") -> tuple[list[Row], Counter[str]]:
    """One row per item (a post toward a target) with a majority stance; and what was left out, by reason."""
    by_item: dict[tuple[str, str], list[dict[str, object]]] = {}
    for vote in votes:
        by_item.setdefault((str(vote["target"]), str(vote["id"])), []).append(vote)
    rows, left_out = [], Counter[str]()
    for (_, item), item_votes in sorted(by_item.items()):
        labels = [str(v["label"]) for v in item_votes if v["label"] != SKIP]
        if not labels:
            left_out["only skipped"] += 1
            continue
        if off_target == "drop" and Counter(labels).most_common(1)[0][0] == OFF_TARGET:
            left_out["not about the target"] += 1
            continue
        ranked = Counter(stance_of(label) for label in labels).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            left_out["reviewers disagree (a tie)"] += 1
            continue
        first = item_votes[0]
        rows.append(Row(str(first["text"]), str(first["target"]), ranked[0][0], item, len(labels),
                        str(first["model_label"])))
    return rows, left_out


def write(path: Path, rows: list[Row]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        out.writerows((r.text, r.target, r.stance, r.item, r.votes, r.model_label) for r in rows)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["export", "texts"],
                   help="export: the labels as training data; texts: the stream's kept texts for the language model")
    p.add_argument("--out", required=True, help="the file to write: with export a CSV (Tweet,Target,Stance, then id, "
                                                "votes, model_label), with texts one post a line")
    p.add_argument("--holdout", type=float, default=0.0,
                   help="share of posts held out (fixed by a hash of each post's id) to measure a retrained model on")
    p.add_argument("--holdout-out", help="CSV for the held-out posts (required with --holdout)")
    p.add_argument("--off-target", choices=["none", "drop"], default="none",
                   help="items not about their target: as NONE (default), or left out")


async def _votes(settings: RedisSettings, known: dict[str, str]) -> list[dict[str, object]]:
    client = async_client(settings, decode_responses=True)
    try:
        store = ReviewStore(client, layout(settings))
        out: list[dict[str, object]] = []
        for target in sorted(await PulseReader(client, layout(settings), known).targets()):
            out += [json.loads(raw) for raw in (await store.stored(target)).values()]
        return sorted(out, key=lambda v: (str(v["id"]), float(str(v["at"]))))  # an item's first vote first
    finally:
        await client.aclose()


async def _texts(settings: RedisSettings) -> list[str]:
    client = async_client(settings, decode_responses=True)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for keys in layout(settings).every_group():
                pipe.lrange(keys.lm_texts, 0, -1)
            return [str(t) for group in await pipe.execute() for t in group]
    finally:
        await client.aclose()


def run(args: argparse.Namespace) -> int:
    configure_logging()
    if args.action == "texts":
        texts = asyncio.run(_texts(RedisSettings()))
        Path(args.out).write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
        log.info("%d posts' texts written to %s", len(texts), args.out)
        return 0
    if args.holdout and not args.holdout_out:
        raise SystemExit("--holdout needs --holdout-out")
    known = Router.load(RoutingSettings().routing_config or None).targets  # and any target counted since
    rows, left_out = consolidate(asyncio.run(_votes(RedisSettings(), known)), args.off_target)
    kept = [r for r in rows if not held_out(r.item, args.holdout)]
    write(Path(args.out), kept)
    if args.holdout_out:
        write(Path(args.holdout_out), [r for r in rows if held_out(r.item, args.holdout)])
    per_target = Counter(r.target for r in rows)
    log.info("%d labelled (post, target) items written (%s), %d held out; left out: %s", len(kept),
             ", ".join(f"{t} {n}" for t, n in sorted(per_target.items())) or "none", len(rows) - len(kept),
             ", ".join(f"{n} {why}" for why, n in left_out.items()) or "none")
    return 0

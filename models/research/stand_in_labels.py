"""A rehearsal of learning from reviewers' labels, before any exist: another stream's crowd labels stand in for them.

    python -m models.research.stand_in_labels --data-dir ../shared/data --out runs/stand-in/labels.csv \\
        --holdout-out runs/stand-in/held.csv
    make train-cpu LABELS=runs/stand-in/labels.csv HELDOUT=runs/stand-in/held.csv

The GOP debate set (August 2015) is a stream none of the classifiers was trained on the labels of: crowd workers
marked each tweet's sentiment toward the candidate it names. Its tweets about Donald Trump, sentiment read as stance
(Positive → FAVOR, Negative → AGAINST, Neutral → NONE), where the crowd agreed at least --min-confidence, are
written as `pulse labels export` writes the reviewers' labels (the same columns, the same held-out rule by post
id), each text once (retweets repeat them). Sentiment is not stance (a tweet can mock the debate while naming
Trump), so the figures measure how well a retrained bundle learns a new stream's labelling from a few thousand
labels, and what that costs on the datasets; they are not the product's live quality.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from pathlib import Path

from models.runtime.labels import held_out
from models.training.corpus import leak_key

SOURCE = "gop_debate_sentiment/Sentiment.csv"
TARGET = "Donald Trump"
AS_STANCE = {"Positive": "FAVOR", "Negative": "AGAINST", "Neutral": "NONE"}
COLUMNS = ("Tweet", "Target", "Stance", "id")
RETWEET = re.compile(r"^RT @\w+:\s*")


def stand_in_rows(data_dir: Path, min_confidence: float) -> list[tuple[str, str, str, str]]:
    """(text, target, stance, post id) per distinct tweet about Trump the crowd agreed on, in the file's order."""
    rows, seen = [], set()
    with (data_dir / SOURCE).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["candidate"] != TARGET or float(row["sentiment_confidence"] or 0) < min_confidence:
                continue
            key = leak_key(RETWEET.sub("", row["text"]))
            if key in seen:
                continue
            seen.add(key)
            rows.append((row["text"], TARGET, AS_STANCE[row["sentiment"]], row["tweet_id"]))
    return rows


def write(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        out.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.research.stand_in_labels", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    p.add_argument("--out", type=Path, required=True, help="the training part (make train-cpu LABELS=)")
    p.add_argument("--holdout-out", type=Path, required=True, help="the held-out part (make train-cpu HELDOUT=)")
    p.add_argument("--holdout", type=float, default=0.3, help="share of posts held out, by a hash of the post id")
    p.add_argument("--min-confidence", type=float, default=0.6, help="the crowd's agreement on the sentiment")
    args = p.parse_args(argv)
    rows = stand_in_rows(args.data_dir, args.min_confidence)
    held = [r for r in rows if held_out(r[3], args.holdout)]
    write(args.out, [r for r in rows if not held_out(r[3], args.holdout)])
    write(args.holdout_out, held)
    print(f"{len(rows) - len(held)} training labels to {args.out}, {len(held)} held out to {args.holdout_out}; "
          f"stances: {dict(Counter(r[2] for r in rows))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

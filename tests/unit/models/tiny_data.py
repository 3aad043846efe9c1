"""A shared-data folder in miniature, built from the fixture tweets: every file DataDir reads, a few rows each."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from models.evaluation.data import Example, read_csv
from models.training.fixture_bundle import FIXTURE_CSV

PSTANCE = {"trump": "Donald Trump", "biden": "Joe Biden", "bernie": "Bernie Sanders"}


def _write_csv(path: Path, rows: Sequence[Example], two_class: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Tweet", "Target", "Stance"])
        w.writerows([e.text, e.target, e.label] for e in rows if not (two_class and e.label == "NONE"))


def _write_semeval(path: Path, rows: Sequence[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["ID\tTarget\tTweet\tStance"] + [f"{i}\t{e.target}\t{e.text} #SemST\t{e.label}" for i, e in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")


def _write_kemlm(path: Path, rows: Sequence[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows([e.text, e.label] for e in rows)


def write_tiny_data_dir(root: Path) -> Path:
    rows = read_csv(FIXTURE_CSV)
    by_target: dict[str, list[Example]] = {}
    for e in rows:
        by_target.setdefault(e.target, []).append(e)
    # two thirds of each target's tweets train, the rest are the evaluation sets (no text in both)
    train = {t: r[: 2 * len(r) // 3] for t, r in by_target.items()}
    held = {t: r[2 * len(r) // 3:] for t, r in by_target.items()}
    for short, target in PSTANCE.items():
        _write_csv(root / "pstance" / "with_none" / f"raw_train_{short}.csv", train[target])
        _write_csv(root / "pstance" / f"raw_train_{short}.csv", train[target], two_class=True)
        _write_csv(root / "pstance" / "with_none" / f"raw_val_{short}.csv", held[target])
        _write_csv(root / "pstance" / f"raw_val_{short}.csv", held[target], two_class=True)
    sem = root / "semeval2016_stance"
    _write_semeval(sem / "semeval2016-task6-trainingdata.txt", train["Hillary Clinton"])
    _write_semeval(sem / "semeval2016-task6-trialdata.txt", train["Hillary Clinton"][:5])
    _write_semeval(sem / "SemEval2016-Task6-subtaskA-testdata-gold.txt", held["Hillary Clinton"])
    _write_semeval(sem / "SemEval2016-Task6-subtaskB-testdata-gold.txt", held["Donald Trump"])
    ke = root / "election2020_kemlm"
    for short, target in (("biden", "Joe Biden"), ("trump", "Donald Trump")):
        _write_kemlm(ke / f"{short}_stance_train_public.csv", train[target][:10])
        _write_kemlm(ke / f"{short}_stance_test_public.csv", held[target])
    unlabelled = [e.text for e in train["Kamala Harris"]]
    (root / "wikitext2_partial").mkdir(parents=True)
    (root / "wikitext2_partial" / "wiki.valid.txt").write_text(
        "= Title =\n" + "\n".join(f"The election of {i} was held in the spring ." for i in range(40)) + "\n")
    (root / "tweeteval" / "emoji").mkdir(parents=True)
    (root / "tweeteval" / "emoji" / "train_text.txt").write_text("\n".join(unlabelled) + "\n")
    for folder, name, column in (("gop_debate_sentiment", "Sentiment.csv", "text"),
                                 ("airline_sentiment", "Tweets.csv", "text")):
        (root / folder).mkdir(parents=True)
        with (root / folder / name).open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([column])
            w.writerows([t] for t in unlabelled)
    s140 = root / "sentiment140_excerpt" / "training.1600000.processed.noemoticon.head9999_tail10001.csv"
    s140.parent.mkdir(parents=True)
    with s140.open("w", newline="", encoding="latin-1") as fh:
        csv.writer(fh).writerows(["0", str(i), "date", "NO_QUERY", "user", t] for i, t in enumerate(unlabelled))
    auto = root / "semeval2016_trump_autolabelled" / "trump_autolabelled.txt"
    auto.parent.mkdir(parents=True)
    auto.write_text("\n".join(f"{i}\tDonald Trump\t{t}\tNONE" for i, t in enumerate(unlabelled)) + "\n")
    return root


def write_live_labels(root: Path) -> tuple[Path, Path]:
    """Reviewers' labels as `pulse labels export` writes them: 7 to train on (one a repost of a held-out post, which
    training must drop) and 5 held out, about Donald Trump in words the fixture does not use."""
    stances = ["FAVOR", "AGAINST", "NONE"]
    posts = [Example(f"live stream post {i} about the rally: {'great' if i % 3 == 0 else 'awful'} night",
                     "Donald Trump", stances[i % 3]) for i in range(11)]
    train, held = [*posts[:6], posts[8]], posts[6:11]
    _write_csv(root / "labels.csv", train)
    _write_csv(root / "held.csv", held)
    return root / "labels.csv", root / "held.csv"

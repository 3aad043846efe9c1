"""Labelled stance data: CSV files with columns Tweet,Target,Stance (the P-Stance / SemEval layout)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.runtime.labels import LABELS

# Names seen in the public data sets → the target name the bundle uses (routing.toml's names for them).
TARGET_ALIASES = {
    "donald trump": "Donald Trump",
    "trump": "Donald Trump",
    "joe biden": "Joe Biden",
    "biden": "Joe Biden",
    "bernie sanders": "Bernie Sanders",
    "bernie": "Bernie Sanders",
    "sanders": "Bernie Sanders",
    "hillary clinton": "Hillary Clinton",
    "clinton": "Hillary Clinton",
    "kamala harris": "Kamala Harris",
    "harris": "Kamala Harris",
}


class DataError(ValueError):
    """A labelled file is malformed; the message names the file and the row."""


@dataclass(frozen=True)
class Example:
    text: str
    target: str
    label: str


def canonical_target(name: str) -> str:
    return TARGET_ALIASES.get(name.strip().lower(), name.strip())


def read_csv(path: str | Path, labels: Sequence[str] = LABELS) -> list[Example]:
    path = Path(path)
    out: list[Example] = []
    with path.open(encoding="utf-8", errors="strict", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"Tweet", "Target", "Stance"} - set(reader.fieldnames or ())
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row_no, row in enumerate(reader, start=2):
            text, target, label = row["Tweet"], row["Target"], row["Stance"]
            if text is None or target is None or label is None:
                raise DataError(f"{path}:{row_no}: row has too few fields")
            label = label.strip().upper()
            if label not in labels:
                raise DataError(f"{path}:{row_no}: stance {label!r} is not one of {', '.join(labels)}")
            out.append(Example(text=text, target=canonical_target(target), label=label))
    return out


def read_csvs(paths: Iterable[str | Path], labels: Sequence[str] = LABELS) -> list[Example]:
    return [ex for p in paths for ex in read_csv(p, labels)]


# The targets the labelled data sets cover, in a fixed order (the tokenizer learns their markers in it).
DATASET_TARGETS: tuple[str, ...] = tuple(dict.fromkeys(TARGET_ALIASES.values()))

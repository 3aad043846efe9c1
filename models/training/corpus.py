"""Text corpora for the ULMFiT stages, read from the shared data folder (never copied into the repo).

- general: WikiText-2 (valid + test: the only general English available offline)
- tweets: unlabelled text of every tweet set's training splits
- stance: labelled stance training sets (P-Stance train, SemEval-2016 train + trial, KE-MLM train)
Evaluation splits we report on (P-Stance val, SemEval test A/B, KE-MLM test, and TweetEval's stance test, which
is SemEval-2016 test A again) never enter a training or LM corpus: `LeakFilter` drops any training text whose
normalised form equals an evaluation text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.evaluation.data import Example, canonical_target, read_csv
from models.runtime.evaluation_sets import EVALUATION_SETS

csv.field_size_limit(1 << 24)

SEMEVAL_TEST_A = "semeval2016_stance/SemEval2016-Task6-subtaskA-testdata-gold.txt"
_KEY_DROP = re.compile(r"https?://\S+|@\w+|#semst|[^a-z0-9 ]")


def leak_key(text: str) -> str:
    """Lower-cased, without URLs, mentions, SemEval's #SemST tag and punctuation: equal keys are the same tweet."""
    return " ".join(_KEY_DROP.sub(" ", text.lower()).split())


@dataclass(frozen=True)
class Source:
    name: str
    texts: list[str]


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]


def _csv_column(path: Path, column: str, encoding: str = "utf-8") -> list[str]:
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        return [row[column] for row in csv.DictReader(fh) if row.get(column)]


def _semeval(path: Path) -> list[Example]:
    out = []
    with path.open(encoding="cp1252", errors="replace", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            out.append(Example(text=row["Tweet"], target=canonical_target(row["Target"]), label=row["Stance"]))
    return out


def _kemlm(path: Path, target: str) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [Example(text=r["text"], target=target, label=r["label"].strip().upper()) for r in csv.DictReader(fh)]


class DataDir:
    def __init__(self, root: str | Path, extra_train: Sequence[str | Path] = (),
                 extra_lm_texts: Sequence[str | Path] = (), live_holdout: Sequence[str | Path] = ()) -> None:
        """`extra_train`: labelled CSVs (Tweet,Target,Stance) added to the stance training data, e.g. the live
        labels of `pulse labels export`; `extra_lm_texts`: files of posts, one a line, added to the language
        model's target-domain text (`pulse labels texts`); `live_holdout`: the held-out live labels
        (`pulse labels export --holdout-out`), measured on and kept out of every training text."""
        self.root = Path(root)
        self.extra_train = [Path(p) for p in extra_train]
        self.extra_lm_texts = [Path(p) for p in extra_lm_texts]
        self.live_holdout = [Path(p) for p in live_holdout]
        if not (self.root / "pstance").is_dir():
            raise FileNotFoundError(f"{self.root} does not look like the shared data folder (no pstance/)")

    # evaluation sets --------------------------------------------------------------------------------------
    def eval_sets(self) -> dict[str, list[Example]]:

        r = self.root
        pst = [f"raw_val_{t}.csv" for t in ("trump", "biden", "bernie")]
        test_a = _semeval(r / SEMEVAL_TEST_A)
        sets = {
            "pstance_val_2class": [e for f in pst for e in read_csv(r / "pstance" / f)],
            "pstance_val_3class": [e for f in pst for e in read_csv(r / "pstance" / "with_none" / f)],
            "semeval_testA_hillary": [e for e in test_a if e.target == "Hillary Clinton"],
            "semeval_testB_trump": _semeval(r / "semeval2016_stance/SemEval2016-Task6-subtaskB-testdata-gold.txt"),
            "kemlm_test": (_kemlm(r / "election2020_kemlm/biden_stance_test_public.csv", "Joe Biden")
                           + _kemlm(r / "election2020_kemlm/trump_stance_test_public.csv", "Donald Trump")),
        }
        if set(sets) != set(EVALUATION_SETS):  # the API describes each set to readers from that table
            raise RuntimeError(f"evaluation sets {sorted(sets)} are not described in models/runtime/evaluation_sets")
        return sets

    def eval_texts(self) -> list[str]:
        texts = [e.text for exs in self.eval_sets().values() for e in exs]
        # all of test A, not only its Hillary Clinton part: none of it is training text
        texts += [e.text for e in _semeval(self.root / SEMEVAL_TEST_A)]
        # TweetEval's stance test splits are SemEval-2016 test A (its train/val are SemEval's training data).
        stance = self.root / "tweeteval" / "stance"
        texts += [t for p in sorted(stance.rglob("test_text.txt")) for t in _lines(p)]
        # the held-out live labels: a repost of one in the training labels or the LM text would leak it
        texts += [e.text for e in self.live_eval()]
        return texts

    def live_eval(self) -> list[Example]:
        return [e for p in self.live_holdout for e in read_csv(p)]

    # training sets ---------------------------------------------------------------------------------------
    def stance_train(self, with_none: bool = True) -> list[Example]:

        r = self.root
        pdir = r / "pstance" / ("with_none" if with_none else "")
        exs = [e for t in ("trump", "biden", "bernie") for e in read_csv(pdir / f"raw_train_{t}.csv")]
        sem = _semeval(r / "semeval2016_stance/semeval2016-task6-trainingdata.txt")
        sem += _semeval(r / "semeval2016_stance/semeval2016-task6-trialdata.txt")
        exs += [e for e in sem if e.target == "Hillary Clinton"]
        exs += _kemlm(r / "election2020_kemlm/biden_stance_train_public.csv", "Joe Biden")
        exs += _kemlm(r / "election2020_kemlm/trump_stance_train_public.csv", "Donald Trump")
        exs += [e for p in self.extra_train for e in read_csv(p)]
        if not with_none:
            exs = [e for e in exs if e.label != "NONE"]
        return exs

    def live_texts(self) -> list[str]:
        return [line for p in self.extra_lm_texts for line in _lines(p)]

    def general(self) -> Source:
        wt = self.root / "wikitext2_partial"
        paras = [ln for p in sorted(wt.glob("*.txt")) for ln in _lines(p) if not ln.startswith("=")]
        return Source("wikitext2_partial", paras)

    def political(self) -> list[str]:
        """Unlabelled tweets about the candidates: the GOP debate set and SemEval's auto-labelled Trump tweets."""
        r = self.root
        auto = r / "semeval2016_trump_autolabelled/trump_autolabelled.txt"
        return (_csv_column(r / "gop_debate_sentiment/Sentiment.csv", "text")
                + [ln.split("\t")[2] for ln in _lines(auto) if ln.count("\t") >= 3])

    def tweets(self) -> list[Source]:
        r = self.root
        te = r / "tweeteval"
        # Every split of the other TweetEval tasks: we report on none of them.
        out = [Source(f"tweeteval/{task.name}", [t for p in sorted(task.glob("*_text.txt")) for t in _lines(p)])
               for task in sorted(te.iterdir()) if task.is_dir() and task.name != "stance"]
        out.append(Source("gop_debate_sentiment", _csv_column(r / "gop_debate_sentiment/Sentiment.csv", "text")))
        out.append(Source("airline_sentiment", _csv_column(r / "airline_sentiment/Tweets.csv", "text")))
        s140 = r / "sentiment140_excerpt/training.1600000.processed.noemoticon.head9999_tail10001.csv"
        with s140.open(encoding="latin-1", newline="") as fh:
            out.append(Source("sentiment140_excerpt", [row[5] for row in csv.reader(fh) if len(row) > 5]))
        auto = r / "semeval2016_trump_autolabelled/trump_autolabelled.txt"
        out.append(Source("semeval2016_trump_autolabelled",
                          [ln.split("\t")[2] for ln in _lines(auto) if ln.count("\t") >= 3]))
        out.append(Source("stance_train_text", [e.text for e in self.stance_train(with_none=True)]))
        return out


class LeakFilter:
    def __init__(self, eval_texts: Iterable[str]) -> None:
        self.keys = {leak_key(t) for t in eval_texts}
        self.keys.discard("")
        self.dropped = 0

    def keep(self, text: str) -> bool:
        if leak_key(text) in self.keys:
            self.dropped += 1
            return False
        return True

    def texts(self, texts: Iterable[str]) -> Iterator[str]:
        return (t for t in texts if self.keep(t))

    def examples(self, examples: Iterable[Example]) -> list[Example]:
        return [e for e in examples if self.keep(e.text)]

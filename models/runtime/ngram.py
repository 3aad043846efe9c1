"""Word n-gram TF-IDF + logistic regression, one per target: the lexical half of the shipped ensemble.

Why it is in the bundle: on this data the AWD-LSTM alone stays below a per-target TF-IDF model (models/README.md),
and the two make different mistakes, so averaging their probabilities beats either. Features: word 1-2-grams and
character 2-5-grams within words (char_wb), each a sublinear TF-IDF block L2-normalised on its own, as a
scikit-learn FeatureUnion makes them. Training uses scikit-learn (`fit_ngram_tables`, training extra only);
serving reads plain arrays from `ngram.npz` with numpy (`NgramScorer`) and reproduces the logistic regression's
predict_proba (parity is tested against scikit-learn), so the serving image needs neither sklearn nor scipy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

from models.runtime.text import normalise

NGRAM_FILE = "ngram.npz"
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
FALLBACK = ""  # the table for targets without one of their own (trained on every target's tweets)
WORD_N, CHAR_N = (1, 2), (2, 5)


def prepare(text: str) -> str:
    """What every analyzer sees: the shared normalisation, lower-cased (TfidfVectorizer's lowercase=True)."""
    return normalise(text).lower()


def word_ngrams(text: str) -> list[str]:
    """Unigrams and bigrams of the normalised, lower-cased text, as TfidfVectorizer(ngram_range=(1, 2)) makes."""
    return _words(prepare(text))


def char_ngrams(text: str) -> list[str]:
    """Character 2- to 5-grams inside space-padded words, as TfidfVectorizer(analyzer="char_wb") makes."""
    return _chars(prepare(text))


def _words(prepared: str) -> list[str]:
    words = TOKEN.findall(prepared)
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def _chars(prepared: str) -> list[str]:
    return [g for word in prepared.split() for g in _word_chars(word)]


def _word_chars(word: str) -> list[str]:
    """char_wb's n-grams of one word: 2- to 5-grams of the word padded with a space each side."""
    out: list[str] = []
    w = f" {word} "
    for n in range(CHAR_N[0], CHAR_N[1] + 1):
        out += [w[i:i + n] for i in range(max(1, len(w) - n + 1))]
        if len(w) <= n:  # a short word counts once, whole
            break
    return out


ANALYZERS = {"word": word_ngrams, "char_wb": char_ngrams}  # on raw text: for training (serving: Block)


WORD_CACHE_SIZE = 200_000  # words whose known character n-grams are remembered (a tweet stream repeats its words)


@dataclass(frozen=True)
class Block:
    """One TF-IDF feature space: its analyzer, vocabulary and idf; L2-normalised on its own, as in a FeatureUnion."""

    analyzer: str
    vocab: dict[str, int]
    idf: np.ndarray  # [V]
    _word_ids: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def cached_words(self) -> int:
        """Words whose character n-gram ids are remembered (at most WORD_CACHE_SIZE)."""
        return len(self._word_ids)

    def features(self, prepared: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, L2-normalised sublinear tf-idf) of every known n-gram of every prepared text."""
        ids = [self._char_ids(text) if self.analyzer == "char_wb" else self._word_ngram_ids(text) for text in prepared]
        col_all = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        row_all = np.repeat(np.arange(len(prepared), dtype=np.int64), [len(x) for x in ids])
        # count each (row, column) pair: one sort instead of a Python Counter per text
        keys, counts = np.unique(row_all * len(self.vocab) + col_all, return_counts=True)
        row, col = keys // len(self.vocab), keys % len(self.vocab)
        w = (1.0 + np.log(counts.astype(np.float64))) * self.idf[col]
        norms = np.sqrt(np.bincount(row, w * w, minlength=len(prepared)))
        return row, col, w / np.where(norms > 0, norms, 1.0)[row]

    def _word_ngram_ids(self, text: str) -> np.ndarray:
        vocab = self.vocab
        return np.fromiter((i for g in _words(text) if (i := vocab.get(g)) is not None), dtype=np.int64)

    def _char_ids(self, text: str) -> np.ndarray:
        parts = [self._known_chars(word) for word in text.split()]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _known_chars(self, word: str) -> np.ndarray:
        hit = self._word_ids.get(word)
        if hit is None:
            if len(self._word_ids) >= WORD_CACHE_SIZE:
                self._word_ids.clear()
            vocab = self.vocab
            hit = self._word_ids[word] = np.fromiter(
                (i for g in _word_chars(word) if (i := vocab.get(g)) is not None), dtype=np.int64)
        return hit


@dataclass(frozen=True)
class NgramTable:
    blocks: list[Block]
    coef: np.ndarray  # [labels, sum of the blocks' V], rows in the bundle's label order
    intercept: np.ndarray  # [labels]

    def logits(self, prepared: Sequence[str]) -> np.ndarray:
        """[n, labels] for texts already through prepare()."""
        out = np.tile(self.intercept.astype(np.float64), (len(prepared), 1))
        offset = 0
        for block in self.blocks:
            row, col, w = block.features(prepared)
            contrib = self.coef[:, offset + col].astype(np.float64) * w  # [labels, hits]
            for k in range(out.shape[1]):
                out[:, k] += np.bincount(row, contrib[k], minlength=len(prepared))
            offset += len(block.vocab)
        return out


class NgramScorer:
    """Probabilities [n, labels] from the per-target tables in a bundle's ngram.npz."""

    def __init__(self, tables: dict[str, NgramTable], labels: Sequence[str]) -> None:
        if FALLBACK not in tables:
            raise ValueError("the n-gram tables need a fallback table")
        self.tables, self.labels = tables, list(labels)

    @classmethod
    def load(cls, path: str | Path, labels: Sequence[str]) -> NgramScorer:
        def text(a: np.ndarray) -> list[str]:
            return bytes(a).decode().split("\n")

        with np.load(path, allow_pickle=False) as z:
            if text(z["labels"]) != list(labels):
                raise ValueError(f"{path}: labels differ from the bundle's")
            tables = {}
            for i, name in enumerate(text(z["targets"])):
                blocks = [Block(kind, {t: j for j, t in enumerate(text(z[f"vocab_{i}_{b}"]))}, z[f"idf_{i}_{b}"])
                          for b, kind in enumerate(text(z[f"analyzers_{i}"]))]
                tables[name] = NgramTable(blocks, z[f"coef_{i}"], z[f"intercept_{i}"])
        return cls(tables, labels)

    def predict(self, texts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        logits = np.zeros((len(texts), len(self.labels)))
        by_table: dict[str, list[int]] = {}
        for i, target in enumerate(targets):
            by_table.setdefault(target if target in self.tables else FALLBACK, []).append(i)
        for name, rows in by_table.items():
            logits[rows] = self.tables[name].logits([prepare(texts[i]) for i in rows])
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)

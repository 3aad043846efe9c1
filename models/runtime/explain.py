"""Which words drove a label: per-word contributions for a (tweet, target) pair. numpy only.

Two methods, one per half of the ensemble:

- `ngram_words` is exact for the n-gram model. Its logit for a label is the intercept plus, per TF-IDF feature
  of the tweet, value × weight. Each feature belongs to words: a unigram and a character n-gram (char_wb n-grams
  never cross a word) to one, a bigram half to each of its two. Centring the weights over the labels makes the
  words' contributions plus the centred intercept sum exactly to the centred logit of the label, so they say how
  much each word pushed toward that label rather than the others. Cheap enough to run on every scored pair.
- `occlusion` is model-agnostic, for the whole ensemble (the LSTM included): the drop in the label's probability
  when the word is removed, one extra row per word, at most `max_words` words (bounded cost). Infer runs it for
  the newest pair of each batch (`occlusion_batch`: the pairs' variants in one predict call), the n-gram method
  for the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

from models.runtime.ngram import TOKEN, Block, NgramTable, prepare

Contribution = tuple[str, float]
_CENTRED: dict[int, tuple[NgramTable, np.ndarray]] = {}  # id(table) → (table, weights centred over the labels)


def _centred(table: NgramTable) -> np.ndarray:
    hit = _CENTRED.get(id(table))
    if hit is None or hit[0] is not table:
        coef = table.coef.astype(np.float64)
        hit = _CENTRED[id(table)] = (table, coef - coef.mean(axis=0))
    return hit[1]


def _feature_owners(block: Block, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every occurrence of a known feature in the words: (vocabulary id, owning word, share of it)."""
    if block.analyzer == "char_wb":
        parts = [block._known_chars(word) for word in words]  # the ids scoring already cached per word
        ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        owners = np.repeat(np.arange(len(words)), [len(x) for x in parts])
        return ids, owners, np.ones(len(ids))
    tokens = [(m.group(), w) for w, word in enumerate(words) for m in TOKEN.finditer(word)]
    found = [(i, w, 1.0) for tok, w in tokens if (i := block.vocab.get(tok)) is not None]
    for (a, wa), (b, wb) in pairwise(tokens):
        if (i := block.vocab.get(f"{a} {b}")) is not None:
            found += [(i, wa, 0.5), (i, wb, 0.5)]
    if not found:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    arr = np.asarray(found, dtype=np.float64)  # columns: id, owner, share
    return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2]


def ngram_words(table: NgramTable, text: str, label: int) -> tuple[list[Contribution], float]:
    """(word, contribution) for every word of the prepared text, and the centred intercept; their sum is the
    centred logit of `label` (logit minus the mean logit over labels)."""
    prepared = prepare(text)
    words = prepared.split()
    centred = _centred(table)[label]
    contrib = np.zeros(len(words))
    offset = 0
    for block in table.blocks:
        _, col, value = block.features([prepared])  # col: the tweet's distinct features, sorted
        ids, owners, shares = _feature_owners(block, words)
        if len(ids):
            # a feature met k times has one tf-idf value: each occurrence gets 1/k of it
            uniq, inverse = np.unique(ids, return_inverse=True)
            occurrences = np.bincount(inverse, weights=shares)  # a bigram's two halves are one occurrence
            per_occurrence = value[np.searchsorted(col, uniq)] * centred[offset + uniq] / occurrences
            np.add.at(contrib, owners, per_occurrence[inverse] * shares)
        offset += len(block.vocab)
    intercept = float(table.intercept[label] - table.intercept.mean())
    return list(zip(words, contrib.tolist(), strict=True)), intercept


def top_words(contributions: Sequence[Contribution], k: int = 6) -> list[Contribution]:
    """The k words that mattered most, either way, merged when a word appears twice; rounded for messages."""
    merged: dict[str, float] = {}
    for word, c in contributions:
        merged[word] = merged.get(word, 0.0) + c
    ranked = sorted(merged.items(), key=lambda kv: -abs(kv[1]))[:k]
    return [(w, round(c, 4)) for w, c in ranked if abs(c) > 1e-6]


Predict = Callable[[list[str], list[str]], np.ndarray]
OCCLUDED_WORDS = 32  # words tried per post in the stream: a tweet rarely has more; bounds the cost at 33 rows


def occlusion(predict: Predict, text: str, target: str, label: int, max_words: int = 48) -> list[Contribution]:
    """(word, drop in p(label) when the word is left out) for the first `max_words` words, in one batch."""
    return occlusion_batch(predict, [(text, target, label)], max_words)[0]


def occlusion_batch(predict: Predict, items: Sequence[tuple[str, str, int]],
                    max_words: int = OCCLUDED_WORDS) -> list[list[Contribution]]:
    """`occlusion` for several (text, target, label) at once: every variant of every post in one predict call
    (one pass through the model's batching, not one per post). The words are lower-cased, as the page matches
    them."""
    texts: list[str] = []
    targets: list[str] = []
    spans = []
    for text, target, _ in items:
        words = text.split()
        shown = words[:max_words]
        spans.append((len(texts), shown))
        texts += [text] + [" ".join(words[:i] + words[i + 1:]) for i in range(len(shown))]
        targets += [target] * (len(shown) + 1)
    probs = predict(texts, targets) if texts else np.zeros((0, 0))
    out = []
    for (start, shown), (_, _, label) in zip(spans, items, strict=True):
        base = float(probs[start, label])
        out.append([(w.lower(), round(base - float(probs[start + 1 + i, label]), 4)) for i, w in enumerate(shown)])
    return out

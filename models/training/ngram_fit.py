"""Fitting and saving the per-target n-gram tables (scikit-learn); models/runtime/ngram.py scores with them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.runtime.ngram import ANALYZERS, FALLBACK, Block, NgramTable


def _joined(items: Sequence[str]) -> np.ndarray:
    return np.frombuffer("\n".join(items).encode(), dtype=np.uint8)


def save_tables(path: str | Path, tables: dict[str, NgramTable], labels: Sequence[str]) -> None:
    names = sorted(tables)
    arrays: dict[str, Any] = {"targets": _joined(names), "labels": _joined(labels)}
    for i, name in enumerate(names):
        t = tables[name]
        arrays[f"analyzers_{i}"] = _joined([b.analyzer for b in t.blocks])
        for j, b in enumerate(t.blocks):
            arrays[f"vocab_{i}_{j}"] = _joined(sorted(b.vocab, key=b.vocab.__getitem__))
            arrays[f"idf_{i}_{j}"] = b.idf.astype(np.float32)
        arrays[f"coef_{i}"] = t.coef.astype(np.float32)
        arrays[f"intercept_{i}"] = t.intercept.astype(np.float32)
    np.savez_compressed(path, **arrays)


@dataclass(frozen=True)
class NgramConfig:
    analyzers: tuple[str, ...] = ("word", "char_wb")
    min_df: int = 2
    c: float = 4.0  # inverse regularisation of the logistic regression
    balanced: bool = True  # class weights inverse to frequency (NONE is rare in P-Stance)


def vectorizers(cfg: NgramConfig) -> list[Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return [TfidfVectorizer(analyzer=ANALYZERS[a], min_df=cfg.min_df, sublinear_tf=True) for a in cfg.analyzers]


def fit_table(texts: Sequence[str], labels: Sequence[str], label_order: Sequence[str], cfg: NgramConfig) -> NgramTable:
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    vecs = vectorizers(cfg)
    x = hstack([v.fit_transform(texts) for v in vecs]).tocsr()
    lr = LogisticRegression(max_iter=3000, C=cfg.c, class_weight="balanced" if cfg.balanced else None).fit(x, labels)
    if len(lr.classes_) != len(label_order):
        raise ValueError(f"need every label to fit a table; got {list(lr.classes_)}")
    rows = [list(lr.classes_).index(lab) for lab in label_order]
    blocks = [Block(a, {str(k): int(j) for k, j in v.vocabulary_.items()}, v.idf_.astype(np.float32))
              for a, v in zip(cfg.analyzers, vecs, strict=True)]
    return NgramTable(blocks, lr.coef_[rows].astype(np.float32), lr.intercept_[rows].astype(np.float32))


def fit_ngram_tables(examples: Sequence[Any], labels: Sequence[str], cfg: NgramConfig | None = None
                     ) -> dict[str, NgramTable]:
    """One table per target that has every label in `examples`, plus the fallback trained on all of them."""
    cfg = cfg or NgramConfig()
    tables = {FALLBACK: fit_table([e.text for e in examples], [e.label for e in examples], labels, cfg)}
    for target in sorted({e.target for e in examples}):
        rows = [e for e in examples if e.target == target]
        if {e.label for e in rows} >= set(labels):
            tables[target] = fit_table([e.text for e in rows], [e.label for e in rows], labels, cfg)
    return tables

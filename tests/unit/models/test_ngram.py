"""The lexical half of the ensemble: serving's numpy scorer equals scikit-learn, and survives the bundle file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from models.evaluation.data import LABELS, read_csv
from models.runtime import ngram
from models.runtime.ngram import FALLBACK, NgramScorer, char_ngrams, word_ngrams
from models.runtime.text import normalise
from models.training.fixture_bundle import FIXTURE_CSV
from models.training.ngram_fit import NgramConfig, fit_ngram_tables, save_tables

TEXTS = ["Vote for @JoeBiden!!! https://t.co/x Biden 2020 #Biden2020 a b", "  I   ", "", "Sooooo   proud of BERNIE",
         "émigré naïve café, ok?"]


@pytest.mark.parametrize("text", TEXTS)
def test_analyzers_are_scikit_learns(text: str) -> None:
    words = TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    assert sorted(word_ngrams(text)) == sorted(words(normalise(text)))
    assert sorted(char_ngrams(text)) == sorted(chars(normalise(text)))


def test_word_ngrams_skip_one_letter_words() -> None:
    assert "vote for" in word_ngrams(TEXTS[0]) and "a" not in word_ngrams(TEXTS[0])


def prep(text: str) -> str:
    return normalise(text).lower()


@pytest.fixture(scope="module")
def examples() -> list:
    return read_csv(FIXTURE_CSV)


def test_numpy_scorer_matches_scikit_learn(examples: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    tables = fit_ngram_tables(examples, LABELS, NgramConfig(min_df=1, c=4.0))
    assert FALLBACK in tables and {e.target for e in examples} <= set(tables)
    save_tables(tmp_path / "ngram.npz", tables, LABELS)
    scorer = NgramScorer.load(tmp_path / "ngram.npz", LABELS)

    target = "Bernie Sanders"
    rows = [e for e in examples if e.target == target]
    # scikit-learn's own analyzers, not ours: the tables must reproduce the standard FeatureUnion pipeline.
    union = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, preprocessor=prep)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=1, sublinear_tf=True,
                                 preprocessor=prep))])
    lr = LogisticRegression(max_iter=3000, C=4.0, class_weight="balanced").fit(
        union.fit_transform([e.text for e in rows]), [e.label for e in rows])
    texts = [e.text for e in examples[:80]] + ["", "words the model never saw", "Bernie Bernie Bernie", "zzz"]
    expected = lr.predict_proba(union.transform(texts))[:, [list(lr.classes_).index(lab) for lab in LABELS]]
    got = scorer.predict(texts, [target] * len(texts))
    assert np.abs(got - expected).max() < 1e-5
    # again, now from the per-word cache of character n-grams, and once more with a cache that keeps clearing
    assert np.array_equal(scorer.predict(texts, [target] * len(texts)), got)
    assert any(b.analyzer == "char_wb" and b.cached_words for t in scorer.tables.values() for b in t.blocks)
    monkeypatch.setattr(ngram, "WORD_CACHE_SIZE", 3)
    assert np.array_equal(NgramScorer.load(tmp_path / "ngram.npz", LABELS).predict(texts, [target] * len(texts)), got)


def test_targets_without_a_table_use_the_fallback(examples: list, tmp_path: Path) -> None:
    tables = fit_ngram_tables(examples, LABELS, NgramConfig(min_df=1))
    scorer = NgramScorer(tables, LABELS)
    text = ["Sanders is the only honest one"]
    assert np.allclose(scorer.predict(text, ["Somebody Else"]), scorer.predict(text, [FALLBACK]))
    assert not np.allclose(scorer.predict(text, ["Bernie Sanders"]), scorer.predict(text, [FALLBACK]))
    p = scorer.predict(text * 3, ["Joe Biden"] * 3)
    assert p.shape == (3, 3) and np.allclose(p.sum(1), 1.0, atol=1e-6)


def test_a_file_with_other_labels_is_refused(examples: list, tmp_path: Path) -> None:
    save_tables(tmp_path / "ngram.npz", fit_ngram_tables(examples, LABELS, NgramConfig(min_df=1)), LABELS)
    with pytest.raises(ValueError, match="labels differ"):
        NgramScorer.load(tmp_path / "ngram.npz", ["AGAINST", "FAVOR", "NONE"])

"""The ULMFiT + n-gram ensemble: the dev split, the weight choice, and the bundle that serves the blend."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from models.evaluation.data import LABELS, Example, read_csv
from models.runtime.bundle import Bundle, BundleError, load_bundle
from models.runtime.ngram import NGRAM_FILE, NgramScorer
from models.runtime.predictor import StanceModel
from models.training.ensemble import blend, choose_weight, dev_split
from models.training.fixture_bundle import FIXTURE_CSV
from models.training.ngram_fit import NgramConfig, fit_ngram_tables, save_tables


def test_dev_split_is_stratified_disjoint_and_repeatable() -> None:
    examples = [Example(f"t{i}", ("A", "B")[i % 2], LABELS[i % 3]) for i in range(600)]
    fit, dev = dev_split(examples, 0.1)
    assert len(dev) == 60 and len(fit) == 540 and not {e.text for e in fit} & {e.text for e in dev}
    assert set(Counter((e.target, e.label) for e in dev).values()) == {10}
    assert dev == dev_split(examples, 0.1)[1] and dev != dev_split(examples, 0.1, seed=1)[1]


def test_choose_weight_finds_the_complementary_mix() -> None:
    # The LSTM is right on the first half, the n-gram model on the second: only a blend gets both.
    dev = [Example(f"t{i}", "T", ("FAVOR", "AGAINST")[i % 2]) for i in range(40)]
    gold = np.array([[1.0, 0.0, 0.0] if e.label == "FAVOR" else [0.0, 1.0, 0.0] for e in dev])
    wrong = gold[:, [1, 0, 2]]
    p_lstm = np.where(np.arange(40)[:, None] < 20, 0.6 * gold + 0.4 * wrong, 0.45 * gold + 0.55 * wrong)
    p_ngram = np.where(np.arange(40)[:, None] < 20, 0.45 * gold + 0.55 * wrong, 0.8 * gold + 0.2 * wrong)
    weight, scores = choose_weight(p_lstm, p_ngram, dev, LABELS)
    assert scores[weight] == 100.0 and scores[0.0] < 100.0 and scores[1.0] < 100.0
    assert 0.0 < weight < 1.0
    assert np.allclose(blend(p_lstm, p_ngram, 0.25), 0.75 * p_lstm + 0.25 * p_ngram)


@pytest.fixture()
def ensemble_bundle(fixture_bundle: Bundle, tmp_path: Path) -> Path:
    out = tmp_path / "ens"
    shutil.copytree(fixture_bundle.path, out)
    save_tables(out / NGRAM_FILE, fit_ngram_tables(read_csv(FIXTURE_CSV), LABELS, NgramConfig(min_df=1)), LABELS)
    meta = json.loads((out / "meta.json").read_text())
    meta["ensemble"] = {"ngram_weight": 0.4, "ngram_file": NGRAM_FILE}
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def test_the_served_model_blends_the_onnx_and_ngram_probabilities(fixture_bundle: Bundle,
                                                                  ensemble_bundle: Path) -> None:
    texts = ["I love Bernie, so proud", "Trump is a disaster", "Biden in Ohio today", ""]
    targets = ["Bernie Sanders", "Donald Trump", "Joe Biden", "Joe Biden"]
    lstm = StanceModel(fixture_bundle, intra_op_threads=1, prefer_gpu=False).predict(texts, targets)
    ngram = NgramScorer.load(ensemble_bundle / NGRAM_FILE, LABELS).predict(texts, targets)
    served = StanceModel(load_bundle(ensemble_bundle), intra_op_threads=1, prefer_gpu=False)
    got = served.predict(texts, targets)
    assert np.allclose(got, 0.6 * lstm + 0.4 * ngram, atol=1e-6)
    assert not np.allclose(got, lstm, atol=1e-3)
    assert np.allclose(got.sum(1), 1.0, atol=1e-5)


def test_a_bundle_naming_missing_tables_or_a_bad_weight_is_refused(ensemble_bundle: Path) -> None:
    (ensemble_bundle / NGRAM_FILE).unlink()
    with pytest.raises(BundleError, match=r"lacks ngram\.npz"):
        load_bundle(ensemble_bundle)
    meta = json.loads((ensemble_bundle / "meta.json").read_text())
    meta["ensemble"]["ngram_weight"] = 1.5
    (ensemble_bundle / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="not in"):
        load_bundle(ensemble_bundle)


def test_build_ensemble_writes_a_bundle_that_serves(fixture_bundle: Bundle, tmp_path: Path) -> None:
    from models.training.ensemble import build_ensemble

    examples = read_csv(FIXTURE_CSV)
    result = build_ensemble([fixture_bundle], examples, [None], tmp_path / "work", tmp_path / "out", "fixture-ens",
                            dev_frac=0.2, ngram_cfg=NgramConfig(min_df=1), progress=False)
    bundle = load_bundle(tmp_path / "out")
    assert bundle.meta.version == "fixture-ens" and bundle.meta.ngram_weight == result["weight"]
    assert "dev split" in bundle.meta.ensemble["chosen_on"] and len(result["dev_f_avg"]) == 21
    assert (tmp_path / "work" / "bundle-dev" / "model.onnx").is_file()  # trained without the dev tweets
    model = StanceModel(bundle, intra_op_threads=1, prefer_gpu=False)
    probs = model.predict([e.text for e in examples], [e.target for e in examples])
    accuracy = np.mean([model.labels[i] == e.label for i, e in zip(probs.argmax(1), examples, strict=True)])
    assert accuracy > 0.9

"""Several classifiers as one ONNX graph: the mean of the members' probabilities, in the same bundle contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.evaluation.data import read_csv
from models.runtime.bundle import Bundle, BundleError, load_bundle
from models.runtime.predictor import StanceModel
from models.training.fixture_bundle import FIXTURE_CSV
from models.training.onnx_mean import merge_bundles


@pytest.fixture(scope="module")
def second_bundle(fixture_bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """Another classifier on the same tokenizer: the fixture's, trained again from another seed."""
    from models.training.awdlstm import AWDConfig
    from models.training.build import train_and_export
    from models.training.train_clf import TrainConfig

    root = tmp_path_factory.mktemp("second")
    rows = read_csv(FIXTURE_CSV)
    arch = AWDConfig(**{k: v for k, v in fixture_bundle.meta.architecture.items() if k != "type"})
    train_and_export(rows, [], fixture_bundle.meta.labels, fixture_bundle.tokenizer_path, fixture_bundle.meta.max_len,
                     arch, TrainConfig(epochs=2, batch_size=16, lr=3e-2, seed=7), root / "work", root / "b",
                     "fixture-seed7", {}, progress=False)
    return load_bundle(root / "b")


def test_the_merged_graph_serves_the_members_mean(fixture_bundle: Bundle, second_bundle: Bundle,
                                                  tmp_path: Path) -> None:
    rows = read_csv(FIXTURE_CSV)
    texts, targets = [e.text for e in rows], [e.target for e in rows]
    merged = merge_bundles([fixture_bundle, second_bundle], tmp_path / "mean", "fixture-mean", texts, targets)
    assert merged.meta.version == "fixture-mean" and merged.meta.labels == fixture_bundle.meta.labels
    assert [m["version"] for m in merged.meta.architecture["members"]] == ["fixture-0", "fixture-seed7"]
    assert merged.meta.metrics["onnx_mean_parity_max_abs_diff"] < 1e-5
    a, b = (StanceModel(x, intra_op_threads=1, prefer_gpu=False).predict(texts, targets)
            for x in (fixture_bundle, second_bundle))
    got = StanceModel(merged, intra_op_threads=1, prefer_gpu=False).predict(texts, targets)
    assert not np.allclose(a, b, atol=1e-3)  # two different members, so the mean is neither
    assert np.abs(got - (a + b) / 2).max() < 1e-5


def test_members_must_share_the_tokenizer(fixture_bundle: Bundle, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(fixture_bundle.path, other)
    (other / "tokenizer.model").write_bytes(b"another tokenizer")
    with pytest.raises(BundleError, match="differ in their tokenizer"):
        merge_bundles([fixture_bundle, load_bundle(other)], tmp_path / "mean", "x", ["a"], ["Joe Biden"])
    with pytest.raises(ValueError, match="at least two"):
        merge_bundles([fixture_bundle], tmp_path / "mean", "x", ["a"], ["Joe Biden"])


def test_an_ensemble_of_two_classifiers_and_the_ngrams(fixture_bundle: Bundle, second_bundle: Bundle,
                                                       tmp_path: Path) -> None:
    from models.training.ensemble import build_ensemble
    from models.training.ngram_fit import NgramConfig

    rows = read_csv(FIXTURE_CSV)
    result = build_ensemble([fixture_bundle, second_bundle], rows, [None, None], tmp_path / "work", tmp_path / "out",
                            "fixture-ens2", dev_frac=0.2, ngram_cfg=NgramConfig(min_df=1), progress=False)
    bundle = load_bundle(tmp_path / "out")
    # one dev-split twin per member chose the weight; the served graph is the members' mean
    assert all((tmp_path / "work" / d / "model.onnx").is_file() for d in ("bundle-dev", "bundle-dev-1"))
    assert bundle.meta.ngram_weight == result["weight"]
    assert [m["version"] for m in bundle.meta.architecture["members"]] == ["fixture-0", "fixture-seed7"]
    texts, targets = [e.text for e in rows], [e.target for e in rows]
    lstm_mean = StanceModel(load_bundle(tmp_path / "work" / "bundle-lstm-mean"), intra_op_threads=1,
                            prefer_gpu=False).predict(texts, targets)
    served = StanceModel(bundle, intra_op_threads=1, prefer_gpu=False).predict(texts, targets)
    w = bundle.meta.ngram_weight
    ngrams = StanceModel(bundle, intra_op_threads=1, prefer_gpu=False).ngrams
    assert ngrams is not None or w == 0.0
    expected = lstm_mean if ngrams is None else (1 - w) * lstm_mean + w * ngrams.predict(texts, targets)
    assert np.abs(served - expected).max() < 1e-5

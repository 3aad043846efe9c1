"""The int8 graph: written beside the float one, checked against it, chosen on CPU and never on a GPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.evaluation.data import read_csv
from models.runtime.bundle import INT8_MODEL_FILE, Bundle, BundleError, load_bundle
from models.runtime.predictor import StanceModel, choose_model_file
from models.training.fixture_bundle import FIXTURE_CSV
from models.training.quantize import QUANT_TOLERANCE, QuantisationError, add_int8_model, check


@pytest.fixture(scope="module")
def int8_bundle(fixture_bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    rows = read_csv(FIXTURE_CSV)
    return add_int8_model(fixture_bundle, [e.text for e in rows], [e.target for e in rows],
                          tmp_path_factory.mktemp("q") / "int8", version="fixture-int8")


def test_the_int8_graph_is_written_checked_and_recorded(fixture_bundle: Bundle, int8_bundle: Bundle) -> None:
    assert (int8_bundle.path / INT8_MODEL_FILE).is_file() and int8_bundle.meta.version == "fixture-int8"
    report = int8_bundle.meta.quantized["check_vs_float"]
    assert report["rows"] == len(read_csv(FIXTURE_CSV))
    assert report["label_agreement"] >= QUANT_TOLERANCE["min_agreement"]
    # The report rounds to 4 decimals, and a confident fixture model can shift less than that: that the weights
    # did change is checked by the file size below and by the raw probabilities in the next test.
    assert 0 <= report["max_abs_diff"] <= QUANT_TOLERANCE["max_abs_diff"]
    assert not fixture_bundle.meta.quantized  # the source bundle is left as it was
    # int8 weights: the quantised LSTMs' matrices take a quarter of the float ones' bytes
    assert (int8_bundle.path / INT8_MODEL_FILE).stat().st_size < int8_bundle.model_path.stat().st_size


def test_cpu_runs_the_int8_graph_and_its_probabilities_stay_close(int8_bundle: Bundle) -> None:
    rows = read_csv(FIXTURE_CSV)
    texts, targets = [e.text for e in rows], [e.target for e in rows]
    auto = StanceModel(int8_bundle, intra_op_threads=1, prefer_gpu=False)
    fp32 = StanceModel(int8_bundle, intra_op_threads=1, prefer_gpu=False, precision="fp32")
    assert auto.model_file.name == INT8_MODEL_FILE and fp32.model_file.name == "model.onnx"
    a, b = auto.predict(texts, targets), fp32.predict(texts, targets)
    assert np.allclose(a.sum(1), 1.0, atol=1e-5) and not np.array_equal(a, b)
    assert np.abs(a - b).max() <= QUANT_TOLERANCE["max_abs_diff"]
    assert (a.argmax(1) == b.argmax(1)).mean() >= QUANT_TOLERANCE["min_agreement"]


def test_the_graph_choice(fixture_bundle: Bundle, int8_bundle: Bundle) -> None:
    cpu, gpu = ["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_model_file(int8_bundle, cpu) == int8_bundle.path / INT8_MODEL_FILE
    # ONNX Runtime's CUDA provider has no quantised-LSTM kernel: a GPU keeps the float graph unless told
    assert choose_model_file(int8_bundle, gpu) == int8_bundle.model_path
    assert choose_model_file(int8_bundle, gpu, "int8") == int8_bundle.path / INT8_MODEL_FILE
    assert choose_model_file(int8_bundle, cpu, "fp32") == int8_bundle.model_path
    assert choose_model_file(fixture_bundle, cpu) == fixture_bundle.model_path
    with pytest.raises(ValueError, match="no int8 graph"):
        choose_model_file(fixture_bundle, cpu, "int8")
    with pytest.raises(ValueError, match="precision must be one of"):
        choose_model_file(int8_bundle, cpu, "fp16")


def test_a_graph_outside_the_tolerance_is_refused() -> None:
    check({"rows": 10, "label_agreement": 1.0, "max_abs_diff": 0.01, "mean_abs_diff": 0.001})
    with pytest.raises(QuantisationError, match="strays"):
        check({"rows": 10, "label_agreement": 0.9, "max_abs_diff": 0.01, "mean_abs_diff": 0.001})
    with pytest.raises(QuantisationError, match="strays"):
        check({"rows": 10, "label_agreement": 1.0, "max_abs_diff": 0.5, "mean_abs_diff": 0.01})


def test_a_bundle_that_names_a_missing_int8_graph_is_refused(int8_bundle: Bundle, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(int8_bundle.path, broken)
    (broken / INT8_MODEL_FILE).unlink()
    with pytest.raises(BundleError, match=r"lacks model\.int8\.onnx"):
        load_bundle(broken)
    meta = json.loads((broken / "meta.json").read_text())
    meta["quantized"] = {}
    (broken / "meta.json").write_text(json.dumps(meta))
    assert load_bundle(broken).int8_model_path is None

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.evaluation.data import read_csv
from models.runtime.bundle import Bundle, BundleError, load_bundle
from models.runtime.predictor import StanceModel
from models.training.awdlstm import AWDConfig, StanceClassifier
from models.training.export import export_onnx, parity
from models.training.fixture_bundle import FIXTURE_CSV
from models.training.train_clf import TrainConfig, train_classifier


def test_onnx_matches_pytorch_on_ragged_batches(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = StanceClassifier(AWDConfig(vocab_size=60, emb_size=10, hidden_size=16)).eval()
    path = tmp_path / "m.onnx"
    export_onnx(model, path)
    rows = [[2, 5, 6, 7, 8, 9, 10, 11], [2, 5], [2, 40, 41, 42], [2]]
    assert parity(model, path, rows) < 1e-5


def test_a_backward_classifier_exports_with_its_reversal_inside_the_graph(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = StanceClassifier(AWDConfig(vocab_size=60, emb_size=10, hidden_size=16, backward=True)).eval()
    path = tmp_path / "bwd.onnx"
    export_onnx(model, path)
    rows = [[2, 5, 6, 7, 8, 9, 10, 11], [2, 5], [2, 40, 41, 42], [2]]
    assert parity(model, path, rows) < 1e-5  # ragged rows: the reversal must respect each row's length


def test_fixture_bundle_is_a_trained_model_that_learned_the_fixture(fixture_bundle: Bundle) -> None:
    meta = fixture_bundle.meta
    assert meta.metrics["onnx_parity_max_abs_diff"] < 1e-4
    model = StanceModel(fixture_bundle, intra_op_threads=1, prefer_gpu=False)
    examples = read_csv(FIXTURE_CSV)
    probs = model.predict([e.text for e in examples], [e.target for e in examples])
    accuracy = np.mean([model.labels[i] == e.label for i, e in zip(probs.argmax(1), examples, strict=True)])
    assert accuracy > 0.9  # a random or untrained model scores about 1/3
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)


def test_interrupted_training_resumes_to_the_same_weights(tmp_path: Path) -> None:
    rows = [[2, 5 + i % 7, 9, 10 + i % 3] for i in range(64)]
    labels = [i % 3 for i in range(64)]
    cfg = TrainConfig(epochs=3, batch_size=16, lr=1e-2)
    awd = AWDConfig(vocab_size=20, emb_size=6, hidden_size=8)

    torch.manual_seed(0)
    straight = StanceClassifier(awd)
    train_classifier(straight, rows, labels, cfg, tmp_path / "a.ckpt", progress=False)

    def crash_in_second_epoch(epoch: int) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    torch.manual_seed(0)
    first = StanceClassifier(awd)
    with pytest.raises(KeyboardInterrupt):
        train_classifier(first, rows, labels, cfg, tmp_path / "b.ckpt", on_epoch=crash_in_second_epoch,
                         progress=False)
    resumed = StanceClassifier(awd)  # a fresh process: weights come from the checkpoint
    history = train_classifier(resumed, rows, labels, cfg, tmp_path / "b.ckpt", progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name


def test_load_bundle_explains_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a folder"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(BundleError, match=r"lacks model\.onnx, tokenizer\.model, meta\.json"):
        load_bundle(tmp_path)
    for f in ("model.onnx", "tokenizer.model"):
        (tmp_path / f).write_bytes(b"x")
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(BundleError, match=r"invalid meta\.json"):
        load_bundle(tmp_path)
    meta = {"version": "v", "labels": ["FAVOR"], "targets": ["Joe Biden"], "max_len": 8, "target_position": "end"}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="target_position 'end' is not one of start, both"):
        load_bundle(tmp_path)


def test_length_sorted_runs_give_the_same_probabilities(fixture_bundle: Bundle) -> None:
    from models.runtime.predictor import LENGTH_BUCKET

    model = StanceModel(fixture_bundle, intra_op_threads=1, prefer_gpu=False)
    examples = read_csv(FIXTURE_CSV)
    n = 3 * LENGTH_BUCKET + 5  # several runs, the last one partial
    texts = [(e.text + " ") * (1 + i % 4) for i, e in zip(range(n), examples * 3, strict=False)]
    targets = [e.target for _, e in zip(range(n), examples * 3, strict=False)]
    batched = model.predict(texts, targets)
    one_by_one = np.concatenate([model.predict([t], [g]) for t, g in zip(texts, targets, strict=True)])
    assert batched.shape == (n, 3) and np.abs(batched - one_by_one).max() < 1e-5


@pytest.mark.parametrize("n", [64 * 5 + 1, 3200 + 1, 20_545, 65, 64, 1])
def test_training_batches_cover_every_row_once_and_never_leave_one_alone(n: int) -> None:
    """Batch norm cannot train on a batch of one row: 20,545 training tweets (the shipped data with 1,167 extra
    labels, less a dev split) once left one at the end of an epoch, and the run stopped there."""
    import random

    from models.training.train_clf import _batches

    batches = _batches([i % 7 for i in range(n)], 64, random.Random(n))
    assert sorted(i for b in batches for i in b) == list(range(n))
    assert n == 1 or min(len(b) for b in batches) > 1
    assert max(len(b) for b in batches) <= 65

"""Several exported classifiers as one ONNX graph that averages their probabilities.

    python -m models.training.onnx_mean --bundle A --bundle B [--bundle C] --out DIR --version NAME [--check-csv CSV]

Why one graph: the bundle contract stays `model.onnx` (infer, eval and quantisation need no change), and ONNX
Runtime runs the members in one session. Members must share the tokenizer, max_len, labels and the graph's
inputs and output (every AWD-LSTM bundle from models/training/build.py does). The n-gram tables and ensemble settings of
the first bundle are kept; its n-gram weight then applies to the members' mean. Training extra only (onnx).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation.data import read_csv
from models.runtime.bundle import MODEL_FILE, Bundle, BundleError, load_bundle, write_meta
from models.runtime.text import Tokenizer

INPUTS, OUTPUT = ("input_ids", "lengths"), "probs"
PARITY_TOLERANCE = 1e-5


def mean_graph(paths: Sequence[Path], out: Path) -> None:
    """Write one graph whose `probs` is the mean of the members' `probs` on the same inputs."""
    import onnx
    from onnx import compose, helper

    members = [onnx.load(str(p)) for p in paths]
    first = members[0]
    for path, m in zip(paths, members, strict=True):
        names = ([i.name for i in m.graph.input], [o.name for o in m.graph.output])
        if names != (list(INPUTS), [OUTPUT]):
            raise BundleError(f"{path}: inputs/outputs {names}, expected {list(INPUTS)} -> {OUTPUT}")
        if m.opset_import != first.opset_import:
            raise BundleError(f"{path}: opset {m.opset_import} differs from {paths[0]}'s")
    nodes, initializers = [], []
    for i, m in enumerate(members):
        prefixed = compose.add_prefix(m, prefix=f"m{i}/")
        # the members read the shared inputs through Identity nodes: their own input names are prefixed
        nodes += [helper.make_node("Identity", [name], [f"m{i}/{name}"], name=f"m{i}/feed_{name}") for name in INPUTS]
        nodes += list(prefixed.graph.node)
        initializers += list(prefixed.graph.initializer)
    nodes.append(helper.make_node("Mean", [f"m{i}/{OUTPUT}" for i in range(len(members))], [OUTPUT], name="mean"))
    graph = helper.make_graph(nodes, "mean_of_classifiers", list(first.graph.input), list(first.graph.output),
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=list(first.opset_import), producer_name="models.training.onnx_mean")
    model.ir_version = first.ir_version
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same(bundles: Sequence[Bundle]) -> None:
    a = bundles[0]
    for b in bundles[1:]:
        for what, x, y in (("tokenizer", _digest(a.tokenizer_path), _digest(b.tokenizer_path)),
                           ("max_len", a.meta.max_len, b.meta.max_len), ("labels", a.meta.labels, b.meta.labels),
                           ("target_position", a.meta.target_position, b.meta.target_position),
                           ("targets", a.meta.targets, b.meta.targets)):
            if x != y:
                raise BundleError(f"bundles {a.meta.version} and {b.meta.version} differ in their {what}")


def parity(bundles: Sequence[Bundle], merged: Path, texts: Sequence[str], targets: Sequence[str]) -> float:
    """Max absolute difference between the merged graph and the mean of the members run one by one."""
    import onnxruntime as ort


    enc = Tokenizer.for_bundle(bundles[0]).encode_batch(texts, targets)
    feed = {"input_ids": enc.ids, "lengths": enc.lengths}

    def run(path: Path) -> np.ndarray:
        return np.asarray(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run([OUTPUT], feed)[0])

    expected = np.mean([run(b.model_path) for b in bundles], axis=0)
    return float(np.abs(run(merged) - expected).max())


def merge_bundles(bundles: Sequence[Bundle], out: Path, version: str, texts: Sequence[str],
                  targets: Sequence[str]) -> Bundle:
    """A bundle whose model.onnx averages the members'; the first member's tokenizer, n-grams and meta otherwise."""
    if len(bundles) < 2:
        raise ValueError("averaging needs at least two bundles")
    _same(bundles)
    out.mkdir(parents=True, exist_ok=True)
    first = bundles[0]
    for f in first.path.iterdir():
        if f.is_file() and f.name not in (MODEL_FILE, "meta.json") and f.name != str(first.meta.quantized.get("file")):
            shutil.copyfile(f, out / f.name)
    mean_graph([b.model_path for b in bundles], out / MODEL_FILE)
    diff = parity(bundles, out / MODEL_FILE, texts, targets)
    if diff > PARITY_TOLERANCE:
        raise RuntimeError(f"the merged graph differs from its members' mean by {diff:.2e}")
    members: list[dict[str, Any]] = [
        {"version": b.meta.version, "architecture": b.meta.architecture,
         "train_config": b.meta.provenance.get("train_config", {}),
         "classifier_from": b.meta.provenance.get("classifier_from", "")} for b in bundles]
    meta = replace(first.meta, version=version, quantized={},
                   architecture={"type": "mean-of-awd-lstm-classifiers", "members": members},
                   metrics={"onnx_mean_parity_max_abs_diff": diff},
                   provenance={**first.meta.provenance, "members": [b.meta.version for b in bundles]})
    write_meta(out, meta)
    return load_bundle(out)


def main(argv: list[str] | None = None) -> int:

    p = argparse.ArgumentParser(prog="python -m models.training.onnx_mean", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", action="append", required=True, help="a member (repeat; the first gives the rest)")
    p.add_argument("--out", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--check-csv", default="../shared/data/pstance/with_none/raw_train_bernie.csv",
                   help="tweets (Tweet,Target,Stance) to check the merged graph on (training text)")
    args = p.parse_args(argv)
    rows = read_csv(args.check_csv)[:512]
    bundle = merge_bundles([load_bundle(b) for b in args.bundle], Path(args.out), args.version,
                           [e.text for e in rows], [e.target for e in rows])
    print(json.dumps({"bundle": str(bundle.path), "version": bundle.meta.version, **bundle.meta.metrics}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

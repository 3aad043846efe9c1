"""Int8 weights for the CPU: ONNX Runtime dynamic quantisation of a bundle's LSTM and linear layers.

    python -m models.training.quantize --bundle <float bundle> --out <dir> --version <name> \\
        [--check-csv ../shared/data/pstance/with_none/raw_train_bernie.csv]

Why dynamic int8: the AWD-LSTM's cost on a CPU is its recurrent matrix products, and ONNX Runtime's
DynamicQuantizeLSTM and MatMulInteger kernels run them on int8 weights with activations quantised per batch, no
calibration set needed. On the 2-core machine this nearly doubles the LSTM's throughput for a few hundredths of a
point of F_avg (models/README.md). The embedding (a Gather) stays float: it costs nothing to look up.

The quantised graph is written *beside* the float one (`model.int8.onnx`); StanceModel runs it on CPU and keeps
the float graph for GPUs, where ONNX Runtime's CUDA provider has no DynamicQuantizeLSTM kernel. Quantisation
is checked against the float graph on real token rows (the probabilities' largest and mean difference, and how
often the predicted label agrees); a graph outside QUANT_TOLERANCE is refused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from models.evaluation.data import read_csv
from models.runtime.bundle import INT8_MODEL_FILE, Bundle, load_bundle, write_meta
from models.runtime.text import Encoded, Tokenizer

QUANT_OPS = ("LSTM", "Gemm", "MatMul")
# Refuse a quantised graph that changes the predicted label of more than 2% of the check rows, or moves any
# probability by more than 0.15 (ulmfit-small-v3 on 2,167 training tweets: 0.3% of labels change, the largest
# shift is 0.07, the mean 0.003).
QUANT_TOLERANCE = {"min_agreement": 0.98, "max_abs_diff": 0.15}


class QuantisationError(RuntimeError):
    """The int8 graph strays from the float one beyond QUANT_TOLERANCE."""


def quantize_onnx(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:  # the quantiser writes scratch files beside its output
        out = Path(tmp) / dst.name
        quantize_dynamic(src, out, weight_type=QuantType.QInt8, op_types_to_quantize=list(QUANT_OPS))
        shutil.move(out, dst)


def _probs(path: Path, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["probs"], {"input_ids": ids, "lengths": lengths})[0])


def compare(float_model: Path, int8_model: Path, enc: Encoded) -> dict[str, float]:
    """How far the int8 graph's probabilities are from the float graph's on these encoded rows."""
    a, b = _probs(float_model, enc.ids, enc.lengths), _probs(int8_model, enc.ids, enc.lengths)
    diff = np.abs(a - b)
    return {"rows": len(enc.lengths), "label_agreement": round(float((a.argmax(1) == b.argmax(1)).mean()), 4),
            "max_abs_diff": round(float(diff.max()), 4), "mean_abs_diff": round(float(diff.mean()), 5)}


def check(report: dict[str, float]) -> None:
    if (report["label_agreement"] < QUANT_TOLERANCE["min_agreement"]
            or report["max_abs_diff"] > QUANT_TOLERANCE["max_abs_diff"]):
        raise QuantisationError(f"the int8 graph strays from the float one: {report} (tolerance {QUANT_TOLERANCE})")


def add_int8_model(bundle: Bundle, texts: Sequence[str], targets: Sequence[str], out: Path | None = None,
                   version: str = "") -> Bundle:
    """Write the int8 graph into `out` (default: the bundle itself), checked on these texts, and say so in meta."""
    if not texts:
        raise ValueError("quantisation needs texts to check the int8 graph on")
    out = out or bundle.path
    if out != bundle.path:
        shutil.copytree(bundle.path, out, dirs_exist_ok=True)
    quantize_onnx(bundle.model_path, out / INT8_MODEL_FILE)
    tok = Tokenizer.for_bundle(bundle)
    report = compare(bundle.model_path, out / INT8_MODEL_FILE, tok.encode_batch(texts, targets))
    check(report)
    quantized: dict[str, Any] = {"file": INT8_MODEL_FILE, "method": "onnxruntime dynamic int8 (weights QInt8)",
                                 "ops": list(QUANT_OPS), "check_vs_float": report}
    write_meta(out, replace(bundle.meta, version=version or bundle.meta.version, quantized=quantized))
    return load_bundle(out)


def main(argv: list[str] | None = None) -> int:

    p = argparse.ArgumentParser(prog="python -m models.training.quantize", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True)
    p.add_argument("--out", default="", help="default: add the int8 graph to --bundle itself")
    p.add_argument("--version", default="")
    p.add_argument("--check-csv", default="../shared/data/pstance/with_none/raw_train_bernie.csv",
                   help="tweets (Tweet,Target,Stance) to compare the int8 and float graphs on (training text)")
    args = p.parse_args(argv)
    rows = read_csv(args.check_csv)
    bundle = add_int8_model(load_bundle(args.bundle), [e.text for e in rows], [e.target for e in rows],
                            Path(args.out) if args.out else None, args.version)
    print(json.dumps({"bundle": str(bundle.path), "version": bundle.meta.version, **bundle.meta.quantized}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

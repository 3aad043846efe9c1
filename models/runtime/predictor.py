"""ONNX Runtime stance model: one session, the bundle's tokenizer, probabilities for (text, target) pairs.

Serving (services/infer) and evaluation (models/evaluation/evaluate.py) both use it, so reported figures are the served
model's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from models.runtime.bundle import Bundle
from models.runtime.calibration import Calibration
from models.runtime.explain import Contribution, ngram_words, occlusion_batch, top_words
from models.runtime.ngram import FALLBACK, NgramScorer
from models.runtime.text import Tokenizer

log = logging.getLogger(__name__)

# Rows per ONNX Runtime run once a batch is sorted by length: each run pads only to its own longest row, so a
# batch of mostly short tweets does not pay for its longest one (the LSTM's cost grows with the padded width).
LENGTH_BUCKET = 64
EXPLAIN_WORDS = 6  # words kept per explanation: what a reader can take in


def choose_providers(prefer_gpu: bool = True) -> list[str]:
    available = ort.get_available_providers()
    if prefer_gpu and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


PRECISIONS = ("auto", "fp32", "int8")


def choose_model_file(bundle: Bundle, providers: Sequence[str], precision: str = "auto") -> Path:
    """The graph to run: int8 on CPU when the bundle has one ("auto"), the float graph on a GPU (ONNX Runtime's
    CUDA provider has no kernel for the quantised LSTM and would run it on the CPU) or when asked ("fp32")."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    int8 = bundle.int8_model_path
    if precision == "int8" and int8 is None:
        raise ValueError(f"bundle {bundle.meta.version} has no int8 graph (models/training/quantize.py adds one)")
    on_cpu = providers[0] == "CPUExecutionProvider"
    if int8 is not None and (precision == "int8" or (precision == "auto" and on_cpu)):
        return int8
    return bundle.model_path


class StanceModel:
    def __init__(self, bundle: Bundle, intra_op_threads: int = 0, prefer_gpu: bool = True,
                 precision: str = "auto", calibrated: bool = True, length_bucket: int = LENGTH_BUCKET,
                 spin_wait: bool = False) -> None:
        """`spin_wait`: let ONNX Runtime's threads busy-wait for work between a graph's nodes (its default). Off,
        they sleep: on 2 cores the int8 graph took 20-30% less CPU per pair at the same throughput, time other
        processes get (or, under a pod's CPU limit, time not throttled)."""
        self.bundle = bundle
        self.length_bucket = length_bucket  # rows per graph run, sorted by length (less padding to compute)
        self.labels = list(bundle.meta.labels)
        self.targets = set(bundle.meta.targets)
        self.tokenizer = Tokenizer.for_bundle(bundle)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin_wait else "0")
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = choose_providers(prefer_gpu)
        self.model_file = choose_model_file(bundle, providers, precision)
        self.session = ort.InferenceSession(str(self.model_file), opts, providers=providers)
        self.ngram_weight = bundle.meta.ngram_weight
        self.ngrams = NgramScorer.load(bundle.ngram_path, self.labels) if self.ngram_weight > 0 else None
        # calibrated=False gives the raw ensemble probabilities (what a calibration is fitted on)
        self.calibration = Calibration.from_meta(bundle.meta.calibration, self.labels) if calibrated else None
        log.info("model %s loaded from %s (%s) on %s%s", bundle.meta.version, bundle.path, self.model_file.name,
                 self.session.get_providers()[0],
                 f", with n-gram tables at weight {self.ngram_weight:.2f}" if self.ngrams else "")

    @property
    def version(self) -> str:
        return self.bundle.meta.version

    def predict(self, texts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        """Probabilities [n, labels] in the bundle's label order."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        enc = self.tokenizer.encode_batch(texts, targets)
        probs = self._run_by_length(enc.ids, enc.lengths)
        if self.ngrams is not None:
            w = self.ngram_weight
            probs = ((1.0 - w) * probs + w * self.ngrams.predict(texts, targets)).astype(np.float32)
        if self.calibration is not None:
            probs = self.calibration.apply(probs, targets)
        return probs

    def decide(self, probs: np.ndarray, targets: Sequence[str]) -> np.ndarray:
        """The served label index of each row of `predict`'s output: the argmax, with the target's NONE decision
        weight when the bundle's calibration has one (models/runtime/calibration.py)."""
        if self.calibration is None:
            return np.asarray(probs).argmax(axis=1)
        return self.calibration.decide(probs, targets)

    def explain(self, text: str, target: str, label: int, k: int = EXPLAIN_WORDS) -> list[tuple[str, float]] | None:
        """The k words that moved the n-gram half most toward `label` (+) or away (−), exact; None without one.
        Cheap (one tweet's features again), so infer attaches it to every scored pair."""
        if self.ngrams is None:
            return None
        table = self.ngrams.tables.get(target) or self.ngrams.tables[FALLBACK]
        return top_words(ngram_words(table, text, label)[0], k)

    def explain_batch(self, texts: Sequence[str], targets: Sequence[str], labels: Sequence[int], explain_last: int,
                      occlude_last: int) -> list[tuple[str, list[Contribution]] | None]:
        """(method, top words) for the last `explain_last` pairs of a scored batch (the newest: the heads of the
        recent lists), None for the others. The last `occlude_last` of them are explained by occlusion over the
        whole model (the LSTM included; one predict call of at most 33 rows per pair), the rest by the exact
        n-gram contributions (cheap)."""
        n = len(texts)
        out: list[tuple[str, list[Contribution]] | None] = [None] * n
        first_explained, first_occluded = max(0, n - explain_last), max(0, n - min(occlude_last, explain_last))
        for i in range(first_explained, first_occluded):
            words = self.explain(texts[i], targets[i], labels[i])
            out[i] = None if words is None else ("ngram", words)
        occluded = range(first_occluded, n)
        drops = occlusion_batch(self.predict, [(texts[i], targets[i], labels[i]) for i in occluded])
        for i, words in zip(occluded, drops, strict=True):
            out[i] = ("occlusion", top_words(words, EXPLAIN_WORDS))
        return out

    def _run(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(["probs"], {"input_ids": ids, "lengths": lengths})[0])

    def _run_by_length(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if len(lengths) <= self.length_bucket:
            return self._run(ids, lengths)
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(lengths), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), self.length_bucket):
            rows = order[start:start + self.length_bucket]
            out[rows] = self._run(ids[rows, : int(lengths[rows].max())], lengths[rows])
        return out

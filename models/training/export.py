"""Export a trained classifier to the bundle's model.onnx and check ONNX Runtime against PyTorch."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

from models.runtime.text import pad
from models.training.awdlstm import StanceClassifier

OPSET = 17


class InferenceModule(nn.Module):
    """Stateless inference graph: zero initial LSTM state each call, softmax probabilities out.

    In eval mode the AWD-LSTM's dropouts are identities and WeightDropLSTM calls its plain nn.LSTM,
    so the exported graph holds exactly the trained weights and no data-dependent Python branches.
    """

    def __init__(self, model: StanceClassifier) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.model(input_ids, lengths), dim=-1)


def export_onnx(model: StanceClassifier, path: Path) -> None:
    module = InferenceModule(model)
    example = pad([[2, 5, 6, 7], [2, 5]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module,
            (torch.from_numpy(example.ids), torch.from_numpy(example.lengths)),
            str(path),
            input_names=["input_ids", "lengths"],
            output_names=["probs"],
            dynamic_axes={"input_ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "probs": {0: "batch"}},
            opset_version=OPSET,
            # The TorchScript exporter maps nn.LSTM to one fused ONNX LSTM node, which ONNX Runtime runs fast;
            # dynamo export unrolls it.
            dynamo=False,
        )


@torch.no_grad()
def parity(model: StanceClassifier, path: Path, rows: Sequence[Sequence[int]]) -> float:
    """Max absolute difference of probabilities, ONNX Runtime vs PyTorch, on these token rows."""
    enc = pad(rows)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_probs = session.run(["probs"], {"input_ids": enc.ids, "lengths": enc.lengths})[0]
    torch_probs = InferenceModule(model)(torch.from_numpy(enc.ids), torch.from_numpy(enc.lengths)).numpy()
    return float(np.abs(onnx_probs - torch_probs).max())

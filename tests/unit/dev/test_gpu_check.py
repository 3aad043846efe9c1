"""`pulse gpu-check` rehearsed on the CPU provider (the same code path the CUDA provider takes), and its refusal
where there is no CUDA provider."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnxruntime as ort
import pytest

from services.dev.gpu_check import CUDA, add_arguments, run


def args_of(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(list(argv))


def test_a_rehearsal_on_the_cpu_checks_parity_and_measures_every_batch(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gpu.json"
    code = run(args_of("--provider", "CPUExecutionProvider", "--batches", "32,96", "--seconds", "0.05",
                       "--parity-pairs", "96", "--out", str(out)))
    assert code == 0
    figures = json.loads(out.read_text())
    assert figures["parity"] == {"pairs": 96, "max_prob_diff": 0.0, "label_agreement": 1.0, "ok": True}
    assert [s["batch"] for s in figures["speeds"]] == [32, 96]
    assert all(s[k] > 0 for s in figures["speeds"] for k in ("predict", "graph", "graph_one_run"))
    assert "| 96 |" in capsys.readouterr().out


@pytest.mark.skipif(CUDA in ort.get_available_providers(), reason="this machine has the CUDA provider")
def test_without_the_cuda_provider_it_says_so_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(args_of()) == 2
    assert "no CUDA provider" in capsys.readouterr().out

from __future__ import annotations

import ast
from pathlib import Path

from models.runtime.bundle import resolve_bundle
from models.runtime.evaluation_sets import EVALUATION_SETS, quality_per_target

ROOT = Path(__file__).resolve().parents[3]


def test_every_set_the_corpus_builds_is_described_for_readers() -> None:
    tree = ast.parse((ROOT / "models/training/corpus.py").read_text())
    (eval_sets,) = (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "eval_sets")
    built = {k.value for n in ast.walk(eval_sets) if isinstance(n, ast.Dict)
             for k in n.keys if isinstance(k, ast.Constant)}
    assert built == set(EVALUATION_SETS)


def test_the_shipped_bundles_quality_per_target_uses_three_label_sets_only() -> None:
    quality = quality_per_target(resolve_bundle("").meta.metrics)
    assert set(quality) == {"Bernie Sanders", "Donald Trump", "Hillary Clinton", "Joe Biden"}
    assert [m["evaluation_set"] for m in quality["Donald Trump"]] == [
        "pstance_val_3class", "kemlm_test", "semeval_testB_trump"]
    assert all(0 < m["accuracy"] <= 100 and m["posts"] > 0 for ms in quality.values() for m in ms)


def test_a_bundle_without_metrics_has_no_quality() -> None:
    assert quality_per_target({}) == {}

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.runtime.bundle import Bundle
from models.training.fixture_bundle import FIXTURE_CSV
from services.cli import main


def test_eval_prints_the_figures(fixture_bundle: Bundle, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--csv", str(FIXTURE_CSV), "--bundle", str(fixture_bundle.path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 320 and out["two_class"] is False
    assert out["accuracy"] > 90 and set(out["per_target"]) >= {"Joe Biden", "Kamala Harris"}
    assert sum(sum(row.values()) for row in out["confusion"].values()) == 320


def test_eval_refuses_unknown_targets_and_bad_files(fixture_bundle: Bundle, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("Tweet,Target,Stance\nhello,Mitt Romney,FAVOR\n")
    assert main(["eval", "--csv", str(bad), "--bundle", str(fixture_bundle.path)]) == 2
    assert "not Mitt Romney" in capsys.readouterr().err
    bad.write_text("Tweet,Target\nhello,Joe Biden\n")
    assert main(["eval", "--csv", str(bad), "--bundle", str(fixture_bundle.path)]) == 2
    assert "missing column(s) Stance" in capsys.readouterr().err


def test_bench_prints_a_table(fixture_bundle: Bundle, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--bundle", str(fixture_bundle.path), "--batch-sizes", "1,16", "--seconds", "0.2",
                 "--explain", "4,1"]) == 0
    rows = [ln.split("|") for ln in capsys.readouterr().out.splitlines() if ln.startswith("| fixture-0")]
    assert len(rows) == 4 and all(float(r[5].replace(",", "")) > 0 for r in rows)
    assert all(r[2].strip() == "model.onnx" for r in rows)
    # each size with and without explanations, in one run (a batch of 1 has room for the occluded one only)
    assert [(r[3].strip(), r[4].strip()) for r in rows] == [("1", "none"), ("1", "0 + 1"), ("16", "none"),
                                                            ("16", "3 + 1")]


def test_bench_compares_graphs(fixture_bundle: Bundle, capsys: pytest.CaptureFixture[str]) -> None:
    # the fixture bundle has no int8 graph: the table says so rather than failing
    assert main(["bench", "--bundle", str(fixture_bundle.path), "--batch-sizes", "4", "--seconds", "0.1",
                 "--precision", "fp32", "--precision", "int8"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| fixture-0")]
    assert [r.split("|")[2].strip() for r in rows] == ["model.onnx", "no int8 graph"]


def test_eval_against_a_baseline_prints_the_paired_comparison(fixture_bundle: Bundle, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--csv", str(FIXTURE_CSV), "--bundle", str(fixture_bundle.path),
                 "--baseline", str(fixture_bundle.path)]) == 0
    table = capsys.readouterr().out
    path = fixture_bundle.path
    assert f"On {FIXTURE_CSV}: fixture-0 ({path}) against fixture-0 ({path}) (320 posts)" in table
    assert "| macro_f1 |" in table and "+0.00 (+0.00 … +0.00)" in table
    assert main(["eval", "--csv", str(FIXTURE_CSV), "--bundle", str(fixture_bundle.path),
                 "--baseline", str(tmp_path / "nowhere")]) == 2
    assert "pulse eval:" in capsys.readouterr().err

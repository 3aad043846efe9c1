"""`make train`'s pipeline end to end on a miniature data folder: every stage, an ensemble of three members (one
of them a backward LM's classifier), the int8 graph, the evaluation, and a rerun that resumes, training nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.runtime.bundle import Bundle, load_bundle
from models.runtime.predictor import StanceModel
from models.training.ablation_results import load as load_ablations
from tests.unit.models.tiny_data import write_live_labels, write_tiny_data_dir


def test_the_pipeline_builds_a_quantised_forward_backward_ensemble_with_ablations_and_resumes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fixture_bundle: Bundle) -> None:
    from models.training.ulmfit import main

    data = write_tiny_data_dir(tmp_path / "data")
    fixture_tokenizer = fixture_bundle.tokenizer_path  # another vocabulary than the one trained below
    work, out = tmp_path / "work", tmp_path / "out"
    argv = ["--data-dir", str(data), "--work", str(work), "--out", str(out), "--size", "tiny", "--version", "tiny-1",
            "--vocab", "400", "--lm1-epochs", "1", "--lm2-epochs", "1", "--clf-epochs", "2", "--max-len", "32",
            "--batch-size", "8", "--ensemble", "--member-epochs", "1", "--backward-member", "--quantize",
            "--ablations", "--ablation-seeds", "0,1", "--target-position", "both", "--no-progress"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    bundle = load_bundle(out)
    meta = bundle.meta
    assert meta.version == "tiny-1" and 0.0 <= meta.ngram_weight <= 1.0
    members = meta.architecture["members"]
    assert [m["version"] for m in members] == ["tiny-1", "tiny-1-member-1ep", "tiny-1-member-bwd"]
    assert [m["architecture"].get("backward", False) for m in members] == [False, False, True]
    # every member, the dev twins and the served tokenizer put the target marker at both ends
    twins_and_members = [work / "bundle-member-bwd", work / "ensemble" / "bundle-dev-2"]
    assert meta.target_position == "both"
    assert all(load_bundle(d).meta.target_position == "both" for d in twins_and_members)
    assert meta.provenance["lm_backward"]["tokens"] > 0
    assert bundle.int8_model_path is not None and bundle.int8_model_path.is_file()
    assert set(meta.metrics["eval"]) == {"pstance_val_2class", "pstance_val_3class", "semeval_testA_hillary",
                                         "semeval_testB_trump", "kemlm_test"}
    assert {"ensemble", "ensemble_fp32", "ulmfit", "no_lm_pretraining", "no_tweet_lm_finetuning",
            "no_gradual_unfreezing"} <= set(report)
    ablations = load_ablations(work / "ablations.json")  # every variant with each seed
    assert [(v.name, sorted(v.runs)) for v in ablations] == [
        (name, ["0", "1"]) for name in ("ulmfit", "no_lm_pretraining", "no_tweet_lm_finetuning",
                                        "no_gradual_unfreezing")]
    assert ablations[0].runs["0"]["pstance_val_2class"] == report["ulmfit"]["pstance_val_2class"]["f_avg"]
    assert all((work / "ensemble" / f"bundle-dev-{i}" / "model.onnx").is_file() for i in (1, 2))  # dev twins
    model = StanceModel(bundle, intra_op_threads=1, prefer_gpu=False)
    assert model.tokenizer.target_position == "both"
    assert model.model_file == bundle.int8_model_path
    assert model.predict(["Bernie for president"], ["Bernie Sanders"]).shape == (1, 3)

    # a rerun finds every stage's output and trains nothing again
    stamps = {p: p.stat().st_mtime_ns for p in (work / "lm1.pt", work / "lm2.pt", work / "lm-bwd.pt",
                                                out / "model.onnx", out / "model.int8.onnx")}
    assert main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps

    # from the trained LM and its tokenizer, as `make train-cpu` does: no LM stage runs; with reviewers' labels
    # (`make train-cpu LABELS= HELDOUT=`): the training part learnt from, the held-out part compared on
    work2, out2 = tmp_path / "work-from-lm", tmp_path / "out-from-lm"
    from_lm = ["--from-lm", str(work / "lm2.pt"), "--from-tokenizer", str(work / "tokenizer.model")]
    labels, held = write_live_labels(tmp_path / "live")
    capsys.readouterr()
    assert main(["--data-dir", str(data), "--work", str(work2), "--out", str(out2), "--size", "tiny",
                 "--version", "tiny-2", "--clf-epochs", "1", "--max-len", "32", *from_lm, "--no-progress",
                 "--extra-train", str(labels), "--live-holdout", str(held), "--compare-with", str(out)]) == 0
    assert not (work2 / "lm1.pt").exists() and not (work2 / "lm2.pt").exists()
    meta2 = load_bundle(out2).meta
    assert meta2.provenance["lm"]["from"] == str(work / "lm2.pt")
    assert meta2.provenance["extra_train"] == {str(labels): 7}
    live = meta2.metrics["live_holdout"]
    assert live["n"] == 5 and live["bundle"]["version"] == "tiny-2" and live["baseline"]["version"] == "tiny-1"
    for figures in live["difference"].values():
        low, high = figures["interval"]
        assert low <= figures["difference"] <= high
    table = (work2 / "live_comparison.md").read_text()
    assert "tiny-1 against" not in table and "tiny-2 against tiny-1 (5 posts)" in table
    assert table in capsys.readouterr().out
    # the repost of a held-out post in the training labels was dropped, so held out means unseen
    assert meta2.provenance["leak_filter_dropped"] >= 1
    with pytest.raises(ValueError, match="were not trained together"):
        main(["--data-dir", str(data), "--work", str(tmp_path / "w3"), "--out", str(tmp_path / "o3"), "--size", "tiny",
              "--from-lm", str(work / "lm2.pt"), "--from-tokenizer", str(fixture_tokenizer), "--no-progress"])

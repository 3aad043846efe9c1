"""The ablation results: their spread over seeds, the model card's table and figure, and the committed file."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.research.ablations import SETS, main, markdown_table, plot
from models.training.ablation_results import Variant, load, runs_entry, save

PNG = b"\x89PNG\r\n\x1a\n"
REPO = Path(__file__).resolve().parents[3]


def _variant(name: str, values: list[float]) -> Variant:
    return Variant(name, name, {str(i): dict.fromkeys(SETS, v) for i, v in enumerate(values)})


def test_the_spread_is_the_mean_and_range_over_seeds() -> None:
    spread = _variant("full", [74.0, 73.0, 75.5]).spread("pstance_val_2class")
    assert (spread.mean, spread.low, spread.high, spread.n) == (74.17, 73.0, 75.5, 3)
    with pytest.raises(ValueError, match="no unknown_set result"):
        _variant("full", [74.0]).spread("unknown_set")


def test_the_table_shows_a_range_only_where_there_are_several_seeds() -> None:
    table = markdown_table([_variant("full", [74.0, 73.0]), _variant("one seed", [69.0])])
    lines = table.splitlines()
    assert lines[0].startswith("| variant | seeds | P-Stance 2c")
    assert lines[2].startswith("| full | 2 | 73.5 (73.0–74.0) |")
    assert lines[3].startswith("| one seed | 1 | 69.0 |")


def test_results_round_trip_and_render(tmp_path: Path) -> None:
    report = {s: {"f_avg": 70.5, "macro_f1": 60.0, "confusion": {}} for s in SETS}
    variants = [Variant("ulmfit", "every step", {"0": runs_entry(report), "1": runs_entry(report)}),
                _variant("no_lm_pretraining", [65.0, 66.0])]
    save(tmp_path / "a.json", variants, "test")
    assert load(tmp_path / "a.json") == variants
    plot(variants, tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    assert data.startswith(PNG) and len(data) > 5_000


def test_the_committed_results_cover_every_set_and_the_model_card_quotes_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    results = REPO / "models" / "results" / "ablations.json"
    assert main(["--results", str(results)]) == 0
    table = capsys.readouterr().out
    variants = load(results)
    assert {"ulmfit", "no_lm_pretraining", "no_tweet_lm_finetuning", "no_gradual_unfreezing"} <= {
        v.name for v in variants}
    assert all(set(run) >= set(SETS) for v in variants for run in v.runs.values())
    card = (REPO / "models" / "README.md").read_text()
    assert all(row in card for row in table.splitlines()[2:]), "models/README.md's ablation table is out of date"

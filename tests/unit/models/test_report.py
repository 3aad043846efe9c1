"""The model card's figures render from what a bundle records."""

from __future__ import annotations

from pathlib import Path

from models.research.report import classifier_curves, confusion, ensemble_weight

PNG = b"\x89PNG\r\n\x1a\n"


def test_figures_are_written_as_png(tmp_path: Path) -> None:
    history = [{"epoch": e, "train_loss": 1.0 / e, "val_f_avg": 60.0 + e} for e in range(1, 6)]
    classifier_curves(history, "test", tmp_path / "curves.png")
    ensemble_weight({"0.0": 70.0, "0.5": 74.0, "1.0": 71.0}, 0.5, tmp_path / "weight.png")
    confusion({"FAVOR": {"FAVOR": 8, "AGAINST": 2, "NONE": 0}, "AGAINST": {"FAVOR": 1, "AGAINST": 9, "NONE": 0}},
              "2-class", tmp_path / "confusion.png")
    for name in ("curves.png", "weight.png", "confusion.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000, name

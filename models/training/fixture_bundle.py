"""A small bundle really trained on the synthetic fixture tweets (seconds on a CPU).

Used by the tests, and by `pulse up` when models/release/ holds no bundle yet. It is a real trained
AWD-LSTM, not a stand-in, but it only knows the fixture's phrasing: never ship it as a release.
"""

from __future__ import annotations

from pathlib import Path

from models.runtime.bundle import Bundle, load_bundle

FIXTURE_CSV = Path(__file__).parents[1] / "fixtures" / "stance_fixture.csv"


def build_fixture_bundle(out_dir: Path, work_dir: Path | None = None, progress: bool = False) -> Bundle:
    if (out_dir / "meta.json").is_file():
        return load_bundle(out_dir)
    from models.training.build import BuildConfig, build_bundle  # imports torch: training only
    from models.training.train_clf import TrainConfig

    cfg = BuildConfig(
        train_csvs=[str(FIXTURE_CSV)], val_csvs=[str(FIXTURE_CSV)], vocab_size=500, max_len=32,
        emb_size=32, hidden_size=64, n_layers=3, drop_mult=0.1,
        train=TrainConfig(epochs=20, batch_size=16, lr=3e-2), version="fixture-0",
    )
    build_bundle(cfg, work_dir or out_dir.with_name(out_dir.name + "-work"), out_dir, progress=progress)
    return load_bundle(out_dir)

"""A small bundle really trained on the synthetic fixture tweets (seconds on a CPU).

Used by the tests, and by `pulse up` when models/release/ holds no bundle yet. It is a real trained
AWD-LSTM, not a stand-in, but it only knows the fixture's phrasing: never ship it as a release.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from pathlib import Path

from models.runtime.bundle import Bundle, load_bundle

MODELS = Path(__file__).parents[1]
FIXTURE_CSV = MODELS / "fixtures" / "stance_fixture.csv"


def fixture_key() -> str:
    """A hash of everything the fixture bundle is made from: the training and runtime code and the fixture data.
    The same key means the same bundle, so a cached one can be reused."""
    digest = hashlib.sha256()
    for path in sorted([*(MODELS / "training").glob("*.py"), *(MODELS / "runtime").glob("*.py"), FIXTURE_CSV]):
        digest.update(path.relative_to(MODELS).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cached_fixture_bundle(cache_dir: Path) -> Bundle:
    """The fixture bundle from `cache_dir`, built there first if its code changed; parallel callers (test
    workers) wait on a lock, so it is built once."""
    out = cache_dir / f"fixture-{fixture_key()}"
    if (out / "meta.json").is_file():
        return load_bundle(out)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        building = out.with_name(out.name + ".building")
        if not (out / "meta.json").is_file():
            build_fixture_bundle(building / "bundle", building / "work")
            (building / "bundle").rename(out)  # whole or absent: a killed build leaves only `.building`
            shutil.rmtree(building)
            for stale in cache_dir.glob("fixture-*"):  # bundles of older code
                if stale != out:
                    shutil.rmtree(stale)
        return load_bundle(out)


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

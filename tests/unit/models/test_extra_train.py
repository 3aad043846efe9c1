"""Labels from the live stream (`pulse labels export`) join the classifiers' training data."""

from __future__ import annotations

from pathlib import Path

from models.training.corpus import DataDir
from tests.unit.models.tiny_data import write_tiny_data_dir


def test_exported_labels_join_the_stance_training_data(tmp_path: Path) -> None:
    root = write_tiny_data_dir(tmp_path / "data")
    labels = tmp_path / "labels.csv"
    labels.write_text("Tweet,Target,Stance,id,votes,model_label\n"
                      "a reviewed post about Harris,Kamala Harris,FAVOR,at://x/1,2,UNRATED\n"
                      "news about Biden,Joe Biden,NONE,at://x/2,1,AGAINST\n", encoding="utf-8")
    plain = DataDir(root).stance_train()
    extended = DataDir(root, [labels]).stance_train()
    added = extended[len(plain):]
    assert extended[: len(plain)] == plain
    assert [(e.target, e.label) for e in added] == [("Kamala Harris", "FAVOR"), ("Joe Biden", "NONE")]
    assert [e.target for e in DataDir(root, [labels]).stance_train(with_none=False)[len(
        DataDir(root).stance_train(with_none=False)):]] == ["Kamala Harris"]


def test_the_streams_texts_join_the_language_models_target_domain_text(tmp_path: Path) -> None:
    root = write_tiny_data_dir(tmp_path / "data")
    texts = tmp_path / "texts.txt"
    texts.write_text("first post of the stream\n\nsecond post\n", encoding="utf-8")
    assert DataDir(root).live_texts() == []
    assert DataDir(root, extra_lm_texts=[texts]).live_texts() == ["first post of the stream", "second post"]

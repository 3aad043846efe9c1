from __future__ import annotations

import pytest

from models.evaluation.data import DataError, read_csv
from models.evaluation.evaluate import stance_metrics
from models.training.train_clf import class_weights


def test_f_avg_is_the_mean_of_favor_and_against_f1() -> None:
    gold = ["FAVOR", "FAVOR", "AGAINST", "AGAINST", "NONE"]
    pred = ["FAVOR", "AGAINST", "AGAINST", "AGAINST", "FAVOR"]
    m = stance_metrics(gold, pred, ["FAVOR", "AGAINST", "NONE"], ["A", "A", "B", "B", "B"])
    # FAVOR: tp1 fp1 fn1 → 0.5; AGAINST: tp2 fp1 fn0 → 0.8; NONE: 0
    assert m["f1"] == {"FAVOR": 50.0, "AGAINST": 80.0, "NONE": 0.0}
    assert m["f_avg"] == 65.0
    assert m["macro_f1"] == pytest.approx(43.33, abs=0.01)
    assert m["accuracy"] == 60.0
    assert m["confusion"]["FAVOR"]["AGAINST"] == 1
    assert set(m["per_target"]) == {"A", "B"}


def test_read_csv_names_the_bad_row(tmp_path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("Tweet,Target,Stance\nok,Donald Trump,FAVOR\nbad,Joe Biden,MAYBE\n")
    with pytest.raises(DataError, match=r"x.csv:3: stance 'MAYBE'"):
        read_csv(p)
    p.write_text("Text,Stance\nx,FAVOR\n")
    with pytest.raises(DataError, match="missing column"):
        read_csv(p)


def test_class_weights_are_inverse_frequency() -> None:
    from models.evaluation.data import Example

    exs = [Example("t", "T", "FAVOR")] * 3 + [Example("t", "T", "AGAINST")]
    w = class_weights(exs, ["FAVOR", "AGAINST", "NONE"])
    assert w[2] == 0.0 and w[1] / w[0] == pytest.approx(3.0)

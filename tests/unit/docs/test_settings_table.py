"""The README's settings table and the settings classes agree: every variable a service reads has a row, every row
names variables that exist, and the defaults column is the classes' defaults (services/dev/settings_doc.py)."""

from __future__ import annotations

from services.dev.settings_doc import README, defaults, documented, render, rewrite


def test_every_setting_has_a_row_and_every_row_a_setting() -> None:
    known = set(defaults())
    names, unknown = documented(README.read_text())
    assert not unknown, f"README rows name variables no settings class reads: {unknown}"
    assert not known - names, f"settings without a README row: {sorted(known - names)}"


def test_the_defaults_column_is_the_code_s() -> None:
    text = README.read_text()
    assert rewrite(text) == text, "stale defaults: run python -m services.dev.settings_doc --write"


def test_defaults_are_shown_with_readable_units_and_unset_for_nothing() -> None:
    assert render("PULSE_AGGREGATE_SEEN_TTL_S", 604_800.0) == "`604800` (7 d)"
    assert render("PULSE_INGEST_MAX_BODY_BYTES", 4 << 20) == "`4194304` (4 MiB)"
    assert render("PULSE_X_S", 0.5) == "`0.5`" and render("PULSE_X", True) == "`true`"
    assert render("PULSE_X", "") == render("PULSE_X", []) == render("PULSE_X", None) == "unset"
    stale = README.read_text().replace("| `PULSE_INFER_GROUP_ID` | `pulse-infer` |", "| `PULSE_INFER_GROUP_ID` | `x` |")
    assert "| `PULSE_INFER_GROUP_ID` | `pulse-infer` |" in rewrite(stale)  # a hand-edited default is caught

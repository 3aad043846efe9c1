"""`pulse --help` lists only the commands whose code is installed (the serving image leaves out services/dev and
models/training, so there it lists ingest, infer, aggregate, api and eval)."""

from __future__ import annotations

import pytest

from services import cli


def test_a_command_whose_module_is_absent_is_not_listed(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(cli.COMMANDS, "gone", ("services.not_in_this_image.tool", "a tool the image lacks"))
    monkeypatch.setitem(cli.COMMANDS, "orphan", ("services.api.not_a_module", "absent from a present package"))
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listing = capsys.readouterr().out
    assert "gone" not in listing and "orphan" not in listing
    assert all(name in listing for name in ("ingest", "infer", "aggregate", "api", "up", "soak"))
    assert not cli.installed("services.not_in_this_image.tool") and cli.installed("services.dev.soak")

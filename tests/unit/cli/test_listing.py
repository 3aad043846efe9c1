"""`pulse --help` lists only the commands whose code is installed (the serving image leaves out services/dev and
models/training, so there it lists ingest, infer, aggregate, api and eval)."""

from __future__ import annotations

import subprocess
import sys

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


SERVING = ("ingest", "infer", "aggregate", "api", "eval")  # the serving image's commands


@pytest.mark.parametrize("command", SERVING)
def test_a_serving_command_loads_no_dev_training_or_torch_code(command: str) -> None:
    """The CLI reaches its commands by module name (so `--help` imports none of them), which the import contracts
    cannot follow; this follows it: what a serving command loads must be in the image (.dockerignore leaves out
    services/dev, models/training, models/research) and must not be torch."""
    module = cli.COMMANDS[command][0]
    probe = ("import importlib, sys; importlib.import_module(sys.argv[1]); "
             "print('\\n'.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", probe, module], capture_output=True, text=True, check=True,
                            timeout=120).stdout.split()
    forbidden = [m for m in loaded if m == "torch" or m.startswith(("torch.", "services.dev", "models.training",
                                                                     "models.research"))]
    assert module in loaded and not forbidden, forbidden

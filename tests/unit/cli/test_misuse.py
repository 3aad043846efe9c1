"""Every misuse an operator can fix ends in one line on stderr naming what to fix, and exit status 2: no traceback,
nothing started first (a missing replay file is found before any broker is dialled)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kafka.errors import KafkaTimeoutError
from pydantic import ValidationError

from services.common.command import explain
from services.common.settings import RedisSettings
from services.infer.settings import InferSettings


def pulse(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # PULSE_KAFKA_BOOTSTRAP points nowhere: a command that dialled the broker first would hang, not answer at once
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PULSE_KAFKA_BOOTSTRAP": "127.0.0.1:1", **env})


@pytest.mark.parametrize(("args", "env", "line"), [
    (("ingest", "--replay", "missing.jsonl"), {}, "pulse ingest: missing.jsonl: no such file"),
    (("ingest", "--replay", "/"), {}, "pulse ingest: /: not a file"),
    (("ingest", "--http"), {}, "pulse ingest: the HTTP source needs PULSE_INGEST_TOKEN"),
    (("infer", "--bundle", "/"), {}, "pulse infer: model bundle / lacks model.onnx"),
    (("up", "--replay", "missing.jsonl"), {}, "pulse up: missing.jsonl: no such file"),
    (("up", "--source", "bluesky", "--fake-source", "--rate", "0"), {}, "pulse up: --fake-source publishes at --rate"),
    (("infer",), {"PULSE_INFER_BATCH_SIZE": "many"}, "pulse infer: PULSE_INFER_BATCH_SIZE: Input should be a valid"),
    (("api",), {"PULSE_REDIS_URL": "hunter2@db:6379"}, "pulse api: PULSE_REDIS_URL: Value error, a Redis URL"),
])
def test_a_misuse_gets_one_line_and_exit_2(args: tuple[str, ...], env: dict[str, str], line: str,
                                           tmp_path: Path) -> None:
    done = pulse(*args, **env)
    errors = [x for x in done.stderr.splitlines() if x.startswith("pulse ")]
    assert done.returncode == 2 and errors and errors[0].startswith(line), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_an_unreachable_broker_is_one_line_that_names_the_setting() -> None:
    message = explain(KafkaTimeoutError("Unable to bootstrap from ['127.0.0.1:1']"))
    assert message is not None and "PULSE_KAFKA_BOOTSTRAP" in message and "127.0.0.1:1" in message


def test_bugs_keep_their_traceback_and_secrets_stay_out_of_the_line() -> None:
    assert explain(KeyError("a bug")) is None and explain(KafkaTimeoutError("a produce timed out")) is None
    with pytest.raises(ValidationError) as caught:
        RedisSettings(url="s3cret://x")  # type: ignore[arg-type]
    assert "s3cret" not in (explain(caught.value) or "s3cret")
    with pytest.raises(ValidationError) as caught:
        InferSettings(batch_size="lots")  # type: ignore[arg-type]
    assert explain(caught.value) == "PULSE_INFER_BATCH_SIZE: Input should be a valid integer, unable to parse " \
                                    "string as an integer"

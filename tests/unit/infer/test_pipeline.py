"""Infer's pipeline (services/infer/app.py): the model scores batch N in its own thread while the main thread sends
batch N-1 and settles N-2; batches leave every stage in order, and an offset is committed only once the broker has
acknowledged its batch. The consumer, producer and model are stand-ins that record what happened in which order;
the real broker's side is tests/integration and tests/chaos."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from services.common.kafka import DeadLetters
from services.common.schemas import RawTweet, Route
from services.infer.app import InferLoop
from services.infer.batcher import Batcher


class Future:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def get(self, timeout: float | None = None) -> Any:
        self.log.append(f"ack {self.name}")
        return "metadata"


class Producer:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None, **_: Any) -> Future:
        name = f"{topic}:{(key or b'').decode()}"
        self.log.append(f"send {name}")
        return Future(self.log, name)

    def flush(self, timeout: float | None = None) -> None:
        pass


class Consumer:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def commit(self, offsets: Any) -> None:
        self.log.append("commit " + ",".join(str(o.offset) for o in offsets.values()))


class Model:
    """Scores a text after its gate opens (so a test can hold the model mid-batch); 'broken' texts fail."""

    version = "stand-in"

    def __init__(self, log: list[str]) -> None:
        self.labels, self.targets = ["FAVOR", "AGAINST", "NONE"], {"Joe Biden"}
        self.log: list[str] = log
        self.gates: dict[str, threading.Event] = {}
        self.threads: set[str] = set()

    def predict(self, texts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        self.threads.add(threading.current_thread().name)
        for text in texts:
            if text in self.gates:
                assert self.gates[text].wait(10)
        if all(t.startswith("broken") for t in texts):
            raise ValueError("cannot score")
        self.log.append("scored " + ",".join(texts))
        return np.tile(np.array([0.2, 0.3, 0.5]), (len(texts), 1))

    def decide(self, probs: np.ndarray, targets: Sequence[str]) -> np.ndarray:
        return np.argmax(probs, axis=1)

    def explain_batch(self, texts: Sequence[str], *_: Any) -> list[Any]:
        return [None] * len(texts)


def record(offset: int, text: str) -> Any:
    value = RawTweet(id=text, text=text, ingested_at=1.8e9, routes=[Route(target="Joe Biden", party="Democrats")])
    return SimpleNamespace(topic="raw", partition=0, offset=offset, key=text.encode(),
                           value=value.model_dump_json().encode())


def loop_with(log: list[str], model: Model) -> InferLoop:
    producer = Producer(log)
    return InferLoop(consumer=Consumer(log), producer=producer, model=model, scored_topic="scored",  # type: ignore[arg-type]
                     dead_letters=DeadLetters(producer, "dlq", stage="infer"),
                     batcher=Batcher(8, 0.05), explain_per_batch=0)


def test_the_model_scores_the_next_batch_while_the_last_is_sent_and_commits_follow_acknowledgements() -> None:
    log: list[str] = []
    model = Model(log)
    loop = loop_with(log, model)
    model.gates["b"] = threading.Event()  # the model is held on the second batch
    loop.process([record(0, "a")])
    loop.process([record(1, "b")])
    # the first batch went out while the model was still on the second: the two overlapped
    assert log == ["scored a", "send scored:a"]
    model.gates["b"].set()
    loop.process([record(2, "c")])
    loop.finish_all()
    at = {event: i for i, event in enumerate(log)}
    assert len(at) == len(log) == 12
    assert [e for e in log if e.startswith("commit")] == ["commit 1", "commit 2", "commit 3"]  # in order
    for text, end in (("a", 1), ("b", 2), ("c", 3)):  # each batch committed only after its acknowledgement
        assert at[f"scored {text}"] < at[f"send scored:{text}"] < at[f"ack scored:{text}"] < at[f"commit {end}"]
    assert at["send scored:a"] < at["send scored:b"] < at["send scored:c"]
    assert at["send scored:b"] < at["ack scored:a"]  # a is settled while b is in flight, one batch deep
    assert model.threads == {"scoring_0"}  # the model ran in its own thread, never this one


def test_a_model_that_fails_a_whole_batch_stops_the_loop_with_that_batch_uncommitted() -> None:
    log: list[str] = []
    loop = loop_with(log, Model(log))
    loop.process([record(0, "a")])
    loop.process([record(1, "broken-1"), record(2, "broken-2")])
    with pytest.raises(RuntimeError, match="every pair of the batch failed"):
        loop.finish_all()
    assert [e for e in log if e.startswith("commit")] == []  # a is in flight, acknowledged only when settled
    assert not any("broken" in e for e in log if e.startswith("send"))

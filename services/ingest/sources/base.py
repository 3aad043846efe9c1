"""What every source hands the ingest core, and the interface of a live source.

A live source speaks one protocol (Jetstream, Mastodon's streaming API, X's filtered stream) over one connection
at a time. The runner (services/ingest/live.py) owns everything around it: reconnecting with backoff, failing over
across hosts, the bounded queue, delivery tracking and the checkpoint. A source only turns frames into events and
says where to resume.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

EventKind = Literal["post", "delete", "skipped", "other", "malformed"]


@dataclass(frozen=True)
class Incoming:
    raw: bytes
    ref: str  # "file.jsonl:12", "bluesky:1725911162329308": where it came from, for logs and the DLQ
    record: dict[str, Any] | None = None  # set by structured sources (CSV, live); JSON Lines are parsed later
    error: str | None = None  # a structural error the source already found (a CSV row with extra fields)
    error_reason: str = "malformed_row"  # the DLQ reason for `error`
    index: int | None = None  # position in an HTTP request's array, for the response's per-item rejections


@dataclass(frozen=True)
class SourceEvent:
    """One event read from a live source.

    `position` is where the source stands once this event is handled (Jetstream's time_us, a Mastodon status id,
    an X post id); None when the event does not move it. `item` is the post to ingest, or None for events that
    only move the cursor (deletes, other collections, posts filtered out by language or with no text).
    """

    kind: EventKind
    position: int | None
    event_time: float | None = None  # unix seconds, for the cursor-lag metric
    item: Incoming | None = None


@dataclass(frozen=True)
class Gap:
    """The source could not give everything since the resume point: posts in this span were never seen."""

    seconds: float
    detail: str


@dataclass(frozen=True)
class Heartbeat:
    """A keep-alive from the server: the connection is alive though no post came."""


Event = SourceEvent | Gap | Heartbeat


class SourceError(Exception):
    """The connection failed in a way worth reconnecting after (a refused handshake, a server error frame)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class FatalSourceError(Exception):
    """Reconnecting cannot help (bad credentials, a subscription the server rejects): the process stops."""


class LiveSource(Protocol):
    name: str  # "bluesky", "mastodon", "x": the metric label and the checkpoint key
    hosts: tuple[str, ...]  # tried in turn; the runner moves to the next after a failed connection

    def stream(self, host: str, resume: int | None) -> AsyncIterator[Event]:
        """Connects to `host` and yields events until the connection ends (returns) or fails (raises).

        `resume` is the position to start from (already rewound by the runner), None to start live.
        """
        ...

    def rewind(self, position: int, seconds: float) -> int:
        """The position `seconds` before `position`: where to resume so nothing at the edge is missed."""
        ...

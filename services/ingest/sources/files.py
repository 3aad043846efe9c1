"""Where tweets come from: JSON Lines files or stdin, and CSV files. Each yields Incoming items.

JSON Lines items carry only their raw bytes (parsed later, so a bad line keeps its exact bytes for the DLQ);
CSV items carry the row as a dict plus the row re-encoded as bytes.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from services.ingest.sources.base import Incoming


def _jsonl_stream(fh: BinaryIO, name: str) -> Iterator[Incoming]:
    for n, line in enumerate(fh, start=1):
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield Incoming(raw=line, ref=f"{name}:{n}")


def read_jsonl(path: str | Path) -> Iterator[Incoming]:
    if str(path) == "-":
        yield from _jsonl_stream(sys.stdin.buffer, "stdin")
        return
    with open(path, "rb") as fh:
        yield from _jsonl_stream(fh, Path(path).name)


def read_csv(path: str | Path) -> Iterator[Incoming]:
    name = Path(path).name
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            out = io.StringIO()
            csv.writer(out).writerow(row.get(k) or "" for k in reader.fieldnames or ())
            raw = out.getvalue().rstrip("\r\n").encode("utf-8", "surrogateescape")
            ref = f"{name}:{reader.line_num}"
            if None in row:  # csv puts surplus fields under the key None
                yield Incoming(raw=raw, ref=ref, error="row has more fields than the header")
                continue
            record = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
            yield Incoming(raw=raw, ref=ref, record=record)


def open_source(path: str | Path, fmt: str | None = None) -> Iterator[Incoming]:
    """`fmt` is 'jsonl' or 'csv'; by default taken from the file name ('-' is JSON Lines on stdin)."""
    fmt = fmt or ("csv" if str(path).lower().endswith(".csv") else "jsonl")
    if fmt == "csv":
        return read_csv(path)
    if fmt == "jsonl":
        return read_jsonl(path)
    raise ValueError(f"unknown source format {fmt!r}: use jsonl or csv")


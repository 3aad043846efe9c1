"""POST /v1/tweets under bad input and abuse: clear 4xx answers, nothing half-produced, memory and time bounded."""

from __future__ import annotations

import contextlib
import json
import select
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from services.dev.servers import free_port, wait_for_port
from tests.integration.harness import Pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
TOKEN = "kq3ZtV9x-WmE2pLr7sYb-chaos"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 1024 * 1024


@pytest.fixture
def ingest_http(pipeline: Pipeline) -> Iterator[tuple[str, int]]:
    port = free_port()
    pipeline.env.update(PULSE_INGEST_TOKEN=TOKEN, PULSE_INGEST_HTTP_PORT=str(port),
                        PULSE_INGEST_MAX_BODY_BYTES=str(MAX_BODY), PULSE_INGEST_HTTP_READ_TIMEOUT_S="2")
    proc = pipeline.start("ingest", "--http")
    wait_for_port(port, proc=proc)
    yield f"http://127.0.0.1:{port}", proc.pid


def rss_peak_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def raw_request(port: int, head: str, body_chunks: Iterator[bytes], timeout: float = 5.0) -> tuple[bytes, int]:
    """Sends a request over a plain socket, chunk by chunk until the server answers or closes; returns the
    response's first bytes and how many body bytes were sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.encode())
        for chunk in body_chunks:
            if select.select([s], [], [], 0)[0]:  # the server answered (or closed) already
                break
            try:
                s.sendall(chunk)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        response = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while b"\r\n\r\n" not in response and (part := s.recv(65536)):
                response += part
    return response, sent


def test_bad_items_get_per_item_reasons_and_bad_bodies_clear_4xx(pipeline: Pipeline,
                                                                 ingest_http: tuple[str, int]) -> None:
    pipeline.start_all()
    base, _ = ingest_http
    url = f"{base}/v1/tweets"
    body = [{"id": "ok1", "text": "Bernie Sanders for president"},
            {"id": "t1", "text": "Trump rally", "created_at": "0001-01-01T00:00:00"},
            {"id": "s1", "text": "Biden \ud800 speech"},
            {"id": "l1", "text": "Trump " + "x" * 900_000}]  # one item over the per-tweet size cap
    r = httpx.post(url, content=httpx_json(body), headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    assert [(x["index"], x["reason"]) for x in r.json()["rejected"]] == [
        (1, "bad_timestamp"), (2, "invalid_utf8"), (3, "too_large")]

    deep = httpx.post(url, content=b"[" * 20_000 + b"]" * 20_000, headers={**AUTH, "Content-Type": "application/json"})
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["detail"]
    wrong_type = httpx.post(url, content=b"id,text\n1,hi", headers={**AUTH, "Content-Type": "text/csv"})
    assert wrong_type.status_code == 415 and "application/json" in wrong_type.json()["detail"]
    assert httpx.post(url, json=[], headers={"Authorization": "Bearer " + "a" * 30}).status_code == 401

    wait_until(lambda: pipeline.pulse()["targets"]["Bernie Sanders"]["total"] == 1, timeout=60,
               what="the good item counted")
    snap = pipeline.pulse()
    assert sum(t["total"] + t["unrated"] for t in snap["targets"].values()) == 1  # only the good one counted
    reasons = sorted(h["pulse.dlq.reason"].decode() for _, h in pipeline.dead_letters(expected=4))
    assert reasons == ["bad_timestamp", "invalid_utf8", "malformed_json", "too_large"]


def httpx_json(body: object) -> bytes:
    return json.dumps(body).encode()  # ensure_ascii: a lone surrogate travels as its \ud800 escape


def test_a_huge_body_is_refused_before_it_is_read(ingest_http: tuple[str, int]) -> None:
    base, pid = ingest_http
    port = int(base.rsplit(":", 1)[1])
    head = (f"POST /v1/tweets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\n")
    megabyte = b" " * (1024 * 1024)

    # Declared: 100 MB. The answer comes before the body is sent at all.
    response, sent = raw_request(port, head + f"Content-Length: {100 * 1024 * 1024}\r\n\r\n", iter([megabyte] * 100))
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert sent < 20 * 1024 * 1024

    # Not declared (chunked): refused once the limit is passed, not at the end of 100 MB.
    chunk = b"%x\r\n" % len(megabyte) + megabyte + b"\r\n"
    response, sent = raw_request(port, head + "Transfer-Encoding: chunked\r\n\r\n", iter([chunk] * 100))
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert sent < 30 * 1024 * 1024

    # Four declared 63 MB bodies at once: memory stays near where it was.
    before = rss_peak_kb(pid)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: raw_request(port, head + f"Content-Length: {63 * 1024 * 1024}\r\n\r\n",
                                                      iter([megabyte] * 63))[0], range(4)))
    assert all(a.startswith(b"HTTP/1.1 413") for a in answers)
    assert rss_peak_kb(pid) - before < 50 * 1024


def test_slow_headers_and_bodies_time_out_and_do_not_block_others(ingest_http: tuple[str, int]) -> None:
    base, _ = ingest_http
    port = int(base.rsplit(":", 1)[1])
    head = (f"POST /v1/tweets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[")
    slow = []
    try:
        for i in range(100):  # slow-loris: headers (even) or a body (odd) that never complete
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(head.encode() if i % 2 else head.split("Content-Type")[0].encode())
            slow.append(s)
        r = httpx.post(f"{base}/v1/tweets", json=[{"id": "q1", "text": "nice weather"}], headers=AUTH, timeout=30)
        assert r.status_code == 202 and r.json()["unrouted"] == 1
        answers = [s.recv(200) for s in slow]  # each gets its answer after the read timeout, not never
        assert all(a.startswith(b"HTTP/1.1 408") or a.startswith(b"HTTP/1.1 503") for a in answers), answers[:3]
        assert sum(a.startswith(b"HTTP/1.1 408") for a in answers[::2]) == 50  # every stalled header block
    finally:
        for s in slow:
            s.close()

"""HTTP source: POST /v1/tweets takes a JSON array of tweets (or {"tweets": [...]}) behind a bearer token.

202 means the broker acknowledged every accepted tweet and every rejected one is in the DLQ; the response lists
rejections with their index and reason. 503 means the broker did not acknowledge all of them in time: some may
have been delivered, and the client should send the whole request again, which is safe because a tweet is counted
once per id however often it arrives. Bodies are limited while they are read (413 without reading the rest), read
under a timeout (408), held within one byte budget shared by all requests, and at most `max_concurrent_posts`
are parsed at once, so memory stays bounded and slow clients only hold what they have sent.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from kafka.errors import KafkaError

from services.common.metrics import exposition
from services.common.settings import KafkaSettings
from services.ingest.app import Ingestor, Tally
from services.ingest.budget import ByteBudget
from services.ingest.readiness import BrokerCheck
from services.ingest.settings import IngestSettings
from services.ingest.sources import Incoming

bearer = HTTPBearer(auto_error=False)
RETRY_AFTER_S = 5


class NotDelivered(Exception):
    def __init__(self, failed: int, total: int, first_error: str) -> None:
        super().__init__(f"{failed} of {total} records were not acknowledged by the broker: {first_error}")
        self.failed, self.total = failed, total


def create_http_app(ingestor: Ingestor, settings: IngestSettings, kafka: KafkaSettings,
                    broker_check: BrokerCheck | None = None) -> FastAPI:
    assert settings.token is not None, "the HTTP source needs a token"
    token = settings.token.get_secret_value().encode()
    check = broker_check or BrokerCheck(kafka, kafka.raw_topic)
    budget = ByteBudget(settings.max_buffered_bytes)  # request bodies held in memory at once, all requests
    slots = asyncio.Semaphore(settings.max_concurrent_posts)  # bodies parsed at once (JSON costs ~5x the bytes)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            check.close()

    app = FastAPI(title="Stance Pulse ingest", version="1", lifespan=lifespan)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:  # a route, not a mount: a mount answers /metrics with a redirect to /metrics/
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    def authorised(cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if cred is None or not hmac.compare_digest(cred.credentials.encode(), token):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ok, why = await run_in_threadpool(check)
        return JSONResponse({"status": "ok" if ok else "unavailable", "detail": why},
                            status_code=status.HTTP_200_OK if ok else status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.post("/v1/tweets", status_code=status.HTTP_202_ACCEPTED, dependencies=[Depends(authorised)])
    async def post_tweets(request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                                f"send Content-Type: application/json (got {content_type or 'none'!r})")
        held = [0]  # body bytes this request holds of the shared budget
        try:
            body = await read_body(request, settings.max_body_bytes, settings.http_read_timeout_s, budget, held)
            try:
                await asyncio.wait_for(slots.acquire(), settings.http_read_timeout_s)
            except TimeoutError:
                raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "too many requests in progress; retry "
                                    "shortly", headers={"Retry-After": str(RETRY_AFTER_S)}) from None
            try:
                items = await run_in_threadpool(parse_body, ingestor, body, settings.max_batch)
                tally = await run_in_threadpool(produce_all, ingestor, items, settings.delivery_timeout_s)
            finally:
                slots.release()
        except NotDelivered as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"{exc}. Send the whole request again: tweets already counted are not counted twice.",
                headers={"Retry-After": str(RETRY_AFTER_S)}) from exc
        finally:
            await budget.give(held[0])
        return {"received": tally.received, "routed": tally.routed, "unrouted": tally.unrouted,
                "rejected": [{"index": r["index"], "reason": r["reason"], "detail": r["detail"]}
                             for r in tally.rejects]}

    return app


async def read_body(request: Request, limit: int, timeout_s: float, budget: ByteBudget, held: list[int]) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` (from Content-Length, or while it
    streams in), and with 408 when it takes longer than `timeout_s` to arrive (waiting for room in the shared
    byte budget included). What it holds of the budget is added to held[0] for the caller to give back."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            f"body is {int(declared)} bytes; the limit is {limit}")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                                        f"body exceeds the limit of {limit} bytes")
                await budget.take(len(chunk))
                held[0] += len(chunk)
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPException(status.HTTP_408_REQUEST_TIMEOUT,
                            f"the body did not arrive within {timeout_s:.0f} s") from None
    return b"".join(chunks)


def parse_body(ingestor: Ingestor, body: bytes, max_batch: int) -> list[Any]:
    """The request's items; a body that is not JSON goes to the DLQ whole and gets 400."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        detail = "JSON nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        ingestor.dead_letters.send(body, "malformed_json", detail, source="http")
        ingestor.dead_letters.producer.flush(timeout=5)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not valid JSON: {detail}") from exc
    items = payload.get("tweets") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            'send a JSON array of tweets, or an object {"tweets": [...]}')
    if len(items) > max_batch:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            f"{len(items)} tweets in one request; the limit is {max_batch}")
    return items


def item_bytes(item: Any) -> bytes:
    """An item as JSON bytes, for the size check and the DLQ."""
    try:
        return json.dumps(item, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates ("\ud800"): keep them as the escapes they arrived as
        return json.dumps(item).encode()


def produce_all(ingestor: Ingestor, items: list[Any], timeout_s: float) -> Tally:
    """Blocking: produces every item (or its dead letter) and waits for the broker's acknowledgement of each."""
    tally = Tally(keep_rejects=True)
    futures = []
    try:
        for i, item in enumerate(items):
            inc = Incoming(raw=item_bytes(item), ref=f"http[{i}]", index=i,
                           record=item if isinstance(item, dict) else None)
            futures.append(ingestor.handle(inc, tally))
        ingestor.producer.flush(timeout=timeout_s)
    except KafkaError as exc:
        raise NotDelivered(len(items) - sum(1 for f in futures if f is None or f.succeeded()), len(items),
                           f"{type(exc).__name__}: {exc}") from exc
    failed = [f for f in futures if f is not None and not f.succeeded()]
    if failed:
        error = failed[0].exception
        raise NotDelivered(len(failed), len(items), f"{type(error).__name__}: {error}")
    return tally

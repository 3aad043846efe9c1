"""HTTP source: POST /v1/tweets takes a JSON array of tweets (or {"tweets": [...]}) behind a bearer token.

A 202 means every accepted tweet is acknowledged by the broker; rejected items go to the DLQ and are listed
in the response with their index and reason, so a client knows exactly what was not counted.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.metrics import exposition
from services.ingest.app import Ingestor, Tally
from services.ingest.sources import Incoming, record_bytes

bearer = HTTPBearer(auto_error=False)


def create_http_app(ingestor: Ingestor, token: str, max_batch: int, max_body_bytes: int) -> FastAPI:
    app = FastAPI(title="Stance Pulse ingest", version="1")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:  # a route, not a mount: a mount answers /metrics with a redirect to /metrics/
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    def authorised(cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if cred is None or not hmac.compare_digest(cred.credentials.encode(), token.encode()):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        # Not ready while the producer has no broker connection: a 202 then would only come after retries.
        if ingestor.producer.bootstrap_connected():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "detail": "no connection to the Kafka bootstrap servers"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.post("/v1/tweets", status_code=status.HTTP_202_ACCEPTED, dependencies=[Depends(authorised)])
    async def post_tweets(request: Request) -> dict[str, Any]:
        body = await request.body()
        if len(body) > max_body_bytes:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                                f"body is {len(body)} bytes; the limit is {max_body_bytes}")
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            ingestor.dead_letters.send(body, "malformed_json", str(exc), source="http")
            ingestor.dead_letters.producer.flush()
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not valid JSON: {exc}") from exc
        items = payload.get("tweets") if isinstance(payload, dict) else payload
        if not isinstance(items, list):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                                'send a JSON array of tweets, or an object {"tweets": [...]}')
        if len(items) > max_batch:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                                f"{len(items)} tweets in one request; the limit is {max_batch}")
        tally = await run_in_threadpool(_produce_all, ingestor, items)
        return {"received": tally.received, "routed": tally.routed, "unrouted": tally.unrouted,
                "rejected": [{"index": int(r["ref"][5:-1]), "reason": r["reason"], "detail": r["detail"]}
                             for r in tally.rejects]}

    return app


def _produce_all(ingestor: Ingestor, items: list[Any]) -> Tally:
    """Blocking: produces every item and waits for the broker's acknowledgement of each."""
    tally = Tally()
    futures = []
    for i, item in enumerate(items):
        raw = record_bytes(item) if isinstance(item, dict) else json.dumps(item).encode()
        inc = Incoming(raw=raw, ref=f"http[{i}]", record=item if isinstance(item, dict) else None)
        futures.append(ingestor.handle(inc, tally))
    ingestor.producer.flush()
    for fut in futures:
        if fut is not None:
            fut.get(timeout=30)  # raises if the broker did not acknowledge: the client sees a 5xx and retries
    return tally

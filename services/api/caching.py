"""ETag and Cache-Control for JSON reads: a client (or a CDN) that already holds the same body gets 304."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse


def json_with_etag(request: Request, body: Any, max_age: int, volatile: tuple[str, ...] = ()) -> Response:
    """The body as JSON with a strong ETag over its content (keys in `volatile`, such as the read time, left out
    so an unchanged count gives the same tag) and `Cache-Control: max-age`; 304 when If-None-Match matches."""
    stable = {k: v for k, v in body.items() if k not in volatile} if isinstance(body, dict) else body
    digest = hashlib.blake2b(json.dumps(stable, sort_keys=True, separators=(",", ":")).encode(),
                             digest_size=12).hexdigest()
    etag = f'"{digest}"'
    # max_age 0: a cache may keep it but must ask again each time (a 304 costs no body)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}" if max_age else "no-cache"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)

"""While Redis is unreachable: a short 503 the reader can understand, never a 500.

Sessions, rate limits, presence and live events live in Redis, so a request that needed it and
met an outage is answered "temporarily unavailable, try again in a moment" — in the browser's
language, since the signed-in user cannot be read without Redis either. Nothing was stored by
such a request unless its answer said so: a reply stored before Redis failed answers 201 with
status ``pending`` (app.recovery sends it).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from app import outage
from app.deps import translator

CODE = "error.service_unavailable"


async def redis_unavailable_response(request: Request, exc: Exception) -> JSONResponse:
    outage.quiet(exc, request.url.path)
    t = translator(request)
    return JSONResponse(
        {"detail": t(CODE), "code": CODE}, status_code=503, headers={"Retry-After": "2"}
    )

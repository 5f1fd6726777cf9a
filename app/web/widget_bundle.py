"""``/static/widget.js``: the embeddable widget, served as one script.

The widget is written as several files in ``static/widget/``: ``core.js`` (the bubble, the
panel, the socket) and one file per part of the visitor's side (``offline.js``, ``files.js``,
``survey.js``, ``data.js``…), each of which registers itself with ``parts.push(function (api)
{…})``. They are joined here into one function scope, parts first, so a host page loads a single
script with a single request and no module loading across origins. The joined text is kept in
memory and rebuilt when a file changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request, Response

from app.web.render import ROOT

router = APIRouter()

WIDGET_DIR = ROOT / "static" / "widget"
CORE = "core.js"

_cache: dict[str, tuple[tuple[tuple[str, int], ...], bytes, str]] = {}


def _files() -> list[Path]:
    parts = sorted(p for p in WIDGET_DIR.glob("*.js") if p.name != CORE)
    return [*parts, WIDGET_DIR / CORE]


def bundle() -> tuple[bytes, str]:
    """The joined script and its ETag."""
    files = _files()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in files)
    cached = _cache.get("widget")
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    pieces = ['(function () {\n"use strict";\nconst parts = [];\n']
    for path in files:
        pieces.append(f"// ---- {path.name}\n{path.read_text(encoding='utf-8')}\n")
    pieces.append("})();\n")
    body = "".join(pieces).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    _cache["widget"] = (stamp, body, etag)
    return body, etag


@router.get("/static/widget.js", include_in_schema=False)
async def widget_script(request: Request) -> Response:
    body, etag = bundle()
    headers = {"etag": etag, "cache-control": "public, max-age=300"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)

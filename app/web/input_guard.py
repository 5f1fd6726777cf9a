"""Refuses, before any route runs, request bodies no route could safely handle.

One ASGI middleware for every HTTP route, present and future, because these are properties of the
body, not of one endpoint's model:

- JSON nested deeper than ``MAX_DEPTH`` — measured on the raw bytes *before* parsing, since
  Python's parser recurses and 5,000 levels raise ``RecursionError``;
- numbers outside SQL's signed 64 bits anywhere in a JSON body (SQLite raises
  ``OverflowError``, PostgreSQL an error of its own), ``1e20`` as well as ``2**63``;
- text with lone UTF-16 surrogates (``"\\ud800"`` escapes, or their raw bytes): no UTF-8 can
  encode them, so storing or rendering them fails; bytes that are not UTF-8 at all;
- forms declaring a charset other than UTF-8/ASCII/Latin-1 (``charset=utf-7`` decodes to lone
  surrogates too);
- JSON bodies over ``MAX_JSON_BYTES`` (no endpoint takes more than a few hundred kilobytes).

Each refusal is a 422 (413 for size, 415 for the charset) shaped like every other refusal:
``detail`` in the reader's language, ``code``, and ``errors`` field by field. Integers in paths
are bounded by their routes' type (``app.deps.RowId``); a number that still reaches SQL too large
answers 422 (``app.web.errors.overflow_response``).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.deps import optional_user, translator

MAX_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_FORM_CHARSETS = {"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"}
# A JSON string (escapes included), so brackets inside text do not count as nesting.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Refusal(Exception):
    def __init__(self, status: int, problem: str, field: str = "body") -> None:
        super().__init__(problem)
        self.status = status
        self.problem = problem
        self.field = field


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a UTF-16 surrogate, which no UTF-8 can carry."""
    return not text.isascii() and _LONE_SURROGATE.search(text) is not None


def json_depth(body: bytes, limit: int = MAX_DEPTH) -> int:
    """How deeply arrays and objects nest in ``body``, without parsing it: exact up to
    ``limit``, and some number over ``limit`` when deeper.

    While a pass removes much, innermost empty pairs are peeled off level by level (one C-speed
    regex each), so a wide body costs a few passes whatever its size; what remains is narrow —
    deep, or unbalanced — and is counted bracket by bracket, stopping once over ``limit``."""
    # Only brackets are kept, objects' as arrays' (which closes which does not change depth).
    brackets = _JSON_STRING.sub(b"", body).translate(_AS_SQUARE, _NOT_BRACKETS)
    depth = 0
    while depth <= limit and len(brackets) > 256:
        peeled = brackets.replace(b"[]", b"")  # one scan: pairs it forms wait for the next
        if (len(brackets) - len(peeled)) * 100 < len(brackets):
            break  # narrow (deep, or unbalanced): counting stops early there
        brackets, depth = peeled, depth + 1
    level = deepest = 0
    for byte in brackets:
        level += 1 if byte == 0x5B else -1  # "["
        deepest = max(deepest, level)
        if depth + deepest > limit:
            break
    return depth + deepest


def check_json(body: bytes) -> None:
    """Raises ``Refusal`` for a body no route could store; lets plain invalid JSON through
    (the route's own validation says what is wrong with it)."""
    if len(body) > MAX_JSON_BYTES:
        raise Refusal(413, "too_large")
    if json_depth(body) > MAX_DEPTH:
        raise Refusal(422, "too_deep")
    try:
        # Like the routes: bytes are decoded as Python's json does, surrogates passed through.
        value = json.loads(body)
    except UnicodeDecodeError:  # not UTF-8 at all: FastAPI would answer an untranslated 400
        raise Refusal(422, "bad_text") from None
    except RecursionError:  # the scan was fooled (UTF-16, say): the parser is not
        raise Refusal(422, "too_deep") from None
    except ValueError:
        return  # malformed JSON: the route's validation says where, in the reader's language
    _walk(value)


def _walk(value: Any) -> None:
    # Iterative: the depth is bounded already, but a wide body should not cost a deep stack.
    # A field's name is spelled out only for the refusal: (parent, key) links until then.
    # The depth is counted again on what was parsed: the byte scan is the quick first line,
    # this the authority (a body in UTF-16 has its brackets between NUL bytes).
    stack: list[tuple[Any, tuple[Any, ...] | None, int]] = [(value, None, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, (int, float)):
            # A float too: 1e20 is an integer to a lax int field, and too large for SQL.
            if not INT64_MIN <= item <= INT64_MAX:
                raise Refusal(422, "range", _spelled(where))
        elif isinstance(item, str):
            if has_lone_surrogate(item):
                raise Refusal(422, "bad_text", _spelled(where))
        elif isinstance(item, (dict, list)) and depth >= MAX_DEPTH:
            raise Refusal(422, "too_deep")  # this container is level depth + 1
        elif isinstance(item, dict):
            for key, child in item.items():
                if has_lone_surrogate(key):
                    raise Refusal(422, "bad_text", _spelled(where))
                stack.append((child, (where, key), depth + 1))
        elif isinstance(item, list):
            if all(type(child) is int for child in item):  # ids: one comparison each way
                if item and not (min(item) >= INT64_MIN and max(item) <= INT64_MAX):
                    wrong = next(n for n, c in enumerate(item) if not INT64_MIN <= c <= INT64_MAX)
                    raise Refusal(422, "range", _spelled((where, wrong)))
                continue
            stack.extend((child, (where, n), depth + 1) for n, child in enumerate(item))


def _spelled(where: tuple[Any, ...] | None) -> str:
    """("ids", 3) linked from the root → "ids.3"; the body itself → "body"."""
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(str(key))
    return ".".join(reversed(parts)) or "body"


def _content_type(scope: Scope) -> tuple[str, dict[str, str]]:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            main, *params = value.decode("latin-1").split(";")
            options = {}
            for param in params:
                key, _, val = param.strip().partition("=")
                options[key.strip().lower()] = val.strip().strip('"')
            return main.strip().lower(), options
    return "", {}


def _is_json(content_type: str) -> bool:
    # As FastAPI decides: no content type, or application/json, or application/*+json.
    return content_type in ("", "application/json") or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _check_charset(options: dict[str, str]) -> None:
    charset = options.get("charset")
    if charset is None:
        return
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return  # Starlette falls back to Latin-1: harmless
    if name not in _FORM_CHARSETS:
        raise Refusal(415, "charset")


class InputGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        content_type, options = _content_type(scope)
        try:
            if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
                _check_charset(options)
            elif _is_json(content_type):
                body, receive = await _buffered(receive)
                if body:
                    check_json(body)
        except Refusal as refusal:
            await (await _refusal_response(scope, refusal))(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Reads the whole body (up to just past the limit) and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client left
            return b"", _replay([message])
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
        if size > MAX_JSON_BYTES:
            raise Refusal(413, "too_large")
    body = b"".join(chunks)
    return body, _replay([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _refusal_response(scope: Scope, refusal: Refusal) -> JSONResponse:
    request = Request(scope)
    try:
        user = await optional_user(request)
    except Exception:  # a refusal must not depend on Redis being up
        user = None
    t = translator(request, user)
    problem = t(f"error.input.{refusal.problem}")
    detail = t("error.invalid_input", fields=f"{refusal.field}: {problem}")
    return JSONResponse(
        {
            "detail": detail,
            "code": "error.invalid_input",
            "errors": [{"field": refusal.field, "problem": problem, "code": refusal.problem}],
        },
        status_code=refusal.status,
    )

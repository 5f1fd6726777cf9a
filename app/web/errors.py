"""Refusals in the reader's language: the actions' errors and FastAPI's own validation errors.

A request FastAPI cannot parse (a missing field, a string where a number belongs, JSON that is
not JSON) gets the same shape as every other refusal — ``{"detail", "code"}`` with ``detail`` in
the user's language — plus ``errors``: each field and what is wrong with it, also translated.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError

from app.actions import ActionError
from app.deps import optional_user, translator, visitor_language
from app.i18n import Translator, gettext

VISITOR_PATHS = ("/api/visitor/", "/survey/")  # answered in the visitor's language

# Pydantic's error types, grouped by what a person should be told.
_PROBLEMS = {
    "missing": "missing",
    "json_invalid": "json",
    "json_type": "json",
    "model_attributes_type": "json",
    "dict_type": "json",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "string_pattern_mismatch": "pattern",
    "literal_error": "choice",
    "enum": "choice",
    "greater_than": "range",
    "greater_than_equal": "range",
    "less_than": "range",
    "less_than_equal": "range",
}


def _problem(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind in _PROBLEMS:
        return _PROBLEMS[kind]
    if kind.endswith("_parsing") or kind.endswith("_type"):
        return "type"
    return "invalid"


def _field(error: dict[str, Any]) -> str:
    # ("body", "text") → "text"; ("query", "limit") → "limit"; the body itself → "body".
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    return ".".join(loc) or "body"


def describe(errors: list[dict[str, Any]], t: Translator) -> tuple[str, list[dict[str, str]]]:
    fields = [
        {"field": _field(e), "problem": t(f"error.input.{_problem(e)}"), "code": _problem(e)}
        for e in errors[:20]
    ]
    summary = "; ".join(f"{f['field']}: {f['problem']}" for f in fields[:5])
    return t("error.invalid_input", fields=summary), fields


async def validation_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    t = translator(request, await optional_user(request))
    detail, fields = describe(list(exc.errors()), t)
    return JSONResponse(
        {"detail": detail, "code": "error.invalid_input", "errors": fields}, status_code=422
    )


async def action_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ActionError)
    if request.url.path.startswith(VISITOR_PATHS):  # a visitor: their widget's language
        detail = gettext(visitor_language(request), exc.code, **exc.params)
        return JSONResponse({"detail": detail, "code": exc.code}, status_code=exc.status)
    # In the language the user chose, wherever they sign in, not only the browser's.
    t = translator(request, await optional_user(request))
    detail = t(exc.code, **exc.params)
    return JSONResponse({"detail": detail, "code": exc.code}, status_code=exc.status)


async def overflow_response(request: Request, exc: Exception) -> JSONResponse:
    """The last line behind ``RowId`` and the input guard: a number too large for SQL that
    still reached the database (a route whose parameter is a plain ``int``) answers 422, not
    500. Nothing was written: the statement failed while binding its parameters (SQLite's
    ``OverflowError``) or was refused by the database (PostgreSQL's data error, e.g. a number
    out of its column's range)."""
    assert isinstance(exc, OverflowError | DBAPIError)
    if isinstance(exc, DBAPIError) and not _out_of_range(exc):
        raise exc  # any other database error stays a server error
    t = translator(request, await optional_user(request))
    code = "error.number_out_of_range"
    return JSONResponse({"detail": t(code), "code": code}, status_code=422)


def _out_of_range(exc: BaseException) -> bool:
    """Whether a database error comes from a value its column cannot hold: a data error, or
    (asyncpg) an ``OverflowError`` while encoding a parameter, somewhere in its causes."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, OverflowError | DataError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False

"""No input gets a 500: numbers too large for SQL, lone surrogates, deep JSON, odd charsets.

The tests walk the app's own routes (``app.routes``), so a route added later is probed too: every
integer path parameter with numbers past SQL's 64 bits, every JSON body with such numbers in each
integer field, lone surrogates in each text field, and 5,000 levels of nesting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlmodel import select

from app.db import valid_text
from app.deps import ServicesDep
from app.models import Conversation, Destination, Office
from app.services import Services
from app.web.input_guard import Refusal, check_json, json_depth
from tests.conftest import LiveServer, login

HUGE = (2**63, -(2**63) - 1, 10**30)
HUGE_IN_JSON = (*HUGE, 1e20, -1e19)  # floats an int field would take as integers
SKIPPED = {"/logout", "/login"}  # the session must survive the walk; /login has tests of its own


def api_routes(app: Any) -> Iterator[APIRoute]:
    """Every API route, in routers included at any depth."""

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            included = getattr(route, "original_router", None)
            yield from walk(included.routes) if included is not None else (route,)

    for route in walk(app.routes):
        if isinstance(route, APIRoute) and route.path not in SKIPPED:
            yield route


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    """The destination manager, signed in through the real form (CSRF header included)."""
    who = live.logins["manager@baie-dargent.example"]
    with login(live.url, who.email, who.password) as signed_in:
        yield signed_in


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:  # Optional[X]: take X
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _resolve(schema, spec)
    return schema


def example(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A small valid instance of a JSON schema (every property filled)."""
    schema = _resolve(schema, spec)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        return {name: example(sub, spec) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema.get("items", {}), spec)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    return "x"


def fields(
    schema: dict[str, Any], spec: dict[str, Any], path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(path in the body, JSON type) of every leaf field."""
    schema = _resolve(schema, spec)
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        yield path, "string" if kind is None else kind
    elif kind == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from fields(sub, spec, (*path, name))
    elif kind == "array":
        yield from fields(schema.get("items", {}), spec, (*path, 0))
    elif kind:
        yield path, kind


def put(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


def json_routes(live: LiveServer) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(method, path with ids filled, body schema, spec) of every route taking a JSON body."""
    spec = live.app.openapi()  # type: ignore[attr-defined]
    for route in api_routes(live.app):
        if route.body_field is None:
            continue
        for method in route.methods:
            operation = spec["paths"].get(route.path, {}).get(method.lower())
            content = (operation or {}).get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            path = route.path
            for param in route.dependant.path_params:
                path = path.replace("{" + param.name + "}", "1")
            yield method, path, content["application/json"]["schema"], spec


def _empty_body(route: APIRoute, client: httpx.Client) -> dict[str, Any]:
    """A form's CSRF token, or an empty JSON object: refused for the number or for the body,
    a JSON route answers a clear 422 either way."""
    if route.body_field is not None and type(route.body_field.field_info).__name__ == "Form":
        return {"data": {"csrf_token": client.headers["X-CSRF-Token"]}}
    return {"json": {}}


def refused_clearly(response: httpx.Response, statuses: tuple[int, ...] = (404, 422)) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body


def test_every_integer_path_parameter_refuses_numbers_sql_cannot_hold(
    live: LiveServer, client: httpx.Client
) -> None:
    probed = 0
    # The widget's routes are asked with a visitor's token (a real one: without it they stop
    # at 401, before the number is even read).
    token, _ = live.app.state.services.visitor_tokens.issue("chat-port-argent")  # type: ignore[attr-defined]
    for route in api_routes(live.app):
        params = route.dependant.path_params
        numbers = [p.name for p in params if p.field_info.annotation is int]
        if not numbers:
            continue
        visitor = {"authorization": f"Bearer {token}"} if "/api/visitor/" in route.path else {}
        for method in route.methods:
            for name in numbers:
                for value in HUGE:
                    path = route.path
                    for p in params:
                        path = path.replace(
                            "{" + p.name + "}", str(value) if p.name == name else "1"
                        )
                    response = client.request(
                        method,
                        path,
                        headers={"accept-language": "en", **visitor},
                        **_empty_body(route, client),
                    )
                    if response.headers.get("content-type", "").startswith("text/html"):
                        assert response.status_code < 500, (method, path, response.text[:200])
                    else:
                        refused_clearly(response)
                    probed += 1
    assert probed >= 40  # the inbox's conversation, message and attachment routes at least


def _takes_int(annotation: object) -> bool:
    return annotation is int or int in getattr(annotation, "__args__", ())


def test_every_query_parameter_refuses_numbers_sql_cannot_hold(
    live: LiveServer, client: httpx.Client
) -> None:
    """Every query parameter (an integer one, or text parsed as a number by its route) with a
    number past 64 bits: never a 500, and a clear 4xx from an integer one."""
    probed = 0
    for route in api_routes(live.app):
        path = route.path
        for param in route.dependant.path_params:
            path = path.replace("{" + param.name + "}", "1")
        for param in route.dependant.query_params:
            for method in route.methods:
                for value in HUGE:
                    response = client.request(
                        method, path, params={param.name: str(value)}, **_empty_body(route, client)
                    )
                    assert response.status_code < 500, (method, path, param.name, value)
                    if _takes_int(param.field_info.annotation):
                        assert 400 <= response.status_code < 500, (method, path, param.name)
                    probed += 1
    assert probed >= 30  # lists, dashboard filters, metrics, rota


def test_numbers_past_64_bits_in_any_json_field_get_a_422(
    live: LiveServer, client: httpx.Client
) -> None:
    probed = 0
    for method, path, schema, spec in json_routes(live):
        base = example(schema, spec)
        for where, kind in fields(schema, spec):
            if kind != "integer":
                continue
            for value in HUGE_IN_JSON:
                response = client.request(
                    method, path, json=put(base, where, value), headers={"accept-language": "fr"}
                )
                refused_clearly(response, (422,))
                assert "limites" in response.json()["detail"], response.text  # said in French
                assert response.json()["errors"][0]["code"] == "range"
                probed += 1
    assert probed >= 15  # assign, bulk (ids, user, office), transfer, notes' mentions


def test_lone_surrogates_in_any_json_text_get_a_422(live: LiveServer, client: httpx.Client) -> None:
    probed = 0
    for method, path, schema, spec in json_routes(live):
        base = example(schema, spec)
        for where, kind in fields(schema, spec):
            if kind != "string":
                continue
            for text in ("a\ud800b", "\udfff", "ok \udc80"):
                # json.dumps writes the surrogate as a \\ud800 escape, as an attacker would.
                escaped = json.dumps(put(base, where, text))
                response = client.request(
                    method, path, content=escaped, headers={"content-type": "application/json"}
                )
                refused_clearly(response, (422,))
                probed += 1
            # …and as the raw bytes of a UTF-8-encoded surrogate (Python's json accepts them).
            raw = json.dumps(put(base, where, "@@"), ensure_ascii=False).encode()
            raw = raw.replace(b"@@", b"a\xed\xa0\x80")
            response = client.request(
                method, path, content=raw, headers={"content-type": "application/json"}
            )
            refused_clearly(response, (422,))
            # …and bytes that are no UTF-8 at all (FastAPI alone answered an untranslated 400).
            raw = raw.replace(b"a\xed\xa0\x80", b"\xff\xfe")
            response = client.request(
                method, path, content=raw, headers={"content-type": "application/json"}
            )
            refused_clearly(response, (422,))
            assert response.json()["errors"][0]["code"] == "bad_text"
    assert probed >= 15


@pytest.mark.parametrize("depth", [40, 5_000, 100_000])
def test_deeply_nested_json_is_refused_before_parsing(
    live: LiveServer, client: httpx.Client, depth: int
) -> None:
    for content_type in ("application/json", None):
        headers = {"content-type": content_type} if content_type else {}
        for method, path, _, _ in json_routes(live):
            for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
                response = client.request(method, path, content=body, headers=headers)
                refused_clearly(response, (422,))
                assert response.json()["errors"][0]["code"] == "too_deep"


def test_the_parsed_body_is_measured_too_when_the_byte_scan_is_fooled() -> None:
    """In UTF-16 a character's bytes may look like a quote (U+4E22 is 22 4E): the scan then
    takes brackets for text. What was parsed is measured again."""
    deep = '["\u4e22", "x", ' + "[" * 40 + "]" * 40 + ', "y"]'
    body = deep.encode("utf-16-le")
    assert json_depth(body) == 1  # fooled: the brackets sit between two false quotes
    assert json.loads(body)  # Python's parser reads it, as the route would
    with pytest.raises(Refusal) as refused:
        check_json(body)
    assert refused.value.problem == "too_deep"
    check_json(("[" * 32 + "]" * 32).encode("utf-16-le"))  # the limit itself passes
    with pytest.raises(Refusal):
        check_json(("[" * 33 + "]" * 33).encode())


def test_nesting_inside_strings_does_not_count() -> None:
    assert json_depth(b'{"text": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert json_depth(b'["\\"[[[[", [[1]]]') == 3
    assert json_depth(b"") == 0


def test_text_with_brackets_and_surrogate_pairs_still_passes(
    live: LiveServer, client: httpx.Client
) -> None:
    """Only lone surrogates are refused: an emoji (a surrogate pair in JSON) and brackets in
    text are ordinary text."""
    response = client.post(
        "/api/conversations/1/notes",
        content='{"text": "[[[[ \\ud83d\\ude00 ]]]] {{{{"}',
        headers={"content-type": "application/json"},
    )
    # The demo has no conversation 1 yet: the body passed the guard and the route answered.
    assert response.status_code == 404, response.text


def test_forms_in_a_charset_that_decodes_to_surrogates_are_refused(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        for content_type in (
            "application/x-www-form-urlencoded; charset=utf-7",
            "multipart/form-data; boundary=b; charset=utf-7",
        ):
            if content_type.startswith("multipart"):
                body = (
                    b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\n+2AA-\r\n'
                    b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                    + token.encode()
                    + b"\r\n--b--\r\n"
                )
            else:
                body = b"email=%2B2AA-&password=x&csrf_token=" + token.encode()
            response = client.post("/login", content=body, headers={"content-type": content_type})
            assert response.status_code == 415, response.text
            assert response.json()["errors"][0]["code"] == "charset"


def test_huge_numbers_in_forms_and_queries_are_refused(
    live: LiveServer, client: httpx.Client
) -> None:
    token = client.headers["X-CSRF-Token"]
    for value in HUGE:
        response = client.post(
            "/rota/overrides",
            data={"start": "2026-07-21T10:00", "end": "2026-07-21T12:00", "office": "port-argent",
                  "priority": str(value), "csrf_token": token},
        )  # fmt: skip
        assert 400 <= response.status_code < 500, response.text[:200]
        for query in (f"office_id={value}", f"account_id={value}"):
            assert client.get(f"/api/metrics?{query}").status_code < 500
            assert client.get(f"/dashboard?{query}").status_code < 500
        assert client.get(f"/api/conversations?limit={value}").status_code == 422


async def test_text_reaching_the_database_another_way_is_stored_with_replacements(
    services: Services,
) -> None:
    """The database layer's own guard: text that reaches an INSERT without passing the HTTP
    guard (a socket frame, an e-mail's undecodable bytes) is stored with U+FFFD instead of
    failing the whole transaction."""
    async with services.db.session() as session:
        destination = (await session.exec(select(Destination))).one()
        assert destination.id is not None
        office = Office(destination_id=destination.id, slug="x\udce9", name="caf\udce9 \U0001f600")
        session.add(office)
        await session.commit()
        office_id = office.id
    async with services.db.session() as session:
        stored = await session.get(Office, office_id)
        assert stored is not None
        assert (stored.slug, stored.name) == ("x\ufffd", "caf\ufffd \U0001f600")
    assert valid_text("plain") == "plain"


async def test_a_nul_is_stored_and_looked_up_as_a_replacement_on_either_engine(
    services: Services,
) -> None:
    """PostgreSQL's text cannot hold a NUL (SQLite can): the same replacement on both, so a
    NUL in a socket frame or a query string neither fails the statement nor differs by engine."""
    async with services.db.session() as session:
        destination = (await session.exec(select(Destination))).one()
        assert destination.id is not None
        session.add(Office(destination_id=destination.id, slug="nul\x00", name="a\x00b"))
        await session.commit()
    async with services.db.session() as session:
        found = (await session.exec(select(Office).where(Office.slug == "nul\x00"))).one()
        assert (found.slug, found.name) == ("nul\ufffd", "a\ufffdb")
        missing = await session.exec(select(Office).where(Office.slug == "\x00"))
        assert missing.first() is None
    assert valid_text("a\x00") == "a\ufffd"


def test_the_rota_calendar_refuses_dates_centuries_away(
    live: LiveServer, client: httpx.Client
) -> None:
    """The schedule is computed from the rota's start: year 3442 took the worker over 10 s
    (found by schemathesis) and 9999-12-31 overflowed; both are refused, in the user's language."""
    for start in ("3442-11-27", "9999-12-31", "0001-01-01", "2005-01-01"):
        response = client.get(f"/rota?start={start}", headers={"accept-language": "en"})
        assert response.status_code == 422, (start, response.status_code)
        assert "too far from today" in response.text
    assert client.get("/rota?start=2027-03-01&view=month").status_code == 200


def test_refusals_of_the_dependencies_are_translated(live: LiveServer) -> None:
    """No session, no CSRF header, not a manager: each a 4xx with a code and a detail in the
    reader's language, like every other refusal."""
    french = {"accept-language": "fr"}
    anonymous = httpx.get(f"{live.url}/api/me", headers=french)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "Connectez-vous d'abord.", "code": "error.login_required"}
    adviser = next(x for x in live.logins.values() if x.email.startswith("camille"))
    with login(live.url, adviser.email, adviser.password) as client:
        client.headers["accept-language"] = "en"
        no_csrf = client.post(
            "/api/me/presence", json={"status": "away"}, headers={"X-CSRF-Token": ""}
        )
        assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "error.csrf_header"
        assert "CSRF" in no_csrf.json()["detail"]


def test_a_route_with_a_plain_int_still_answers_422_not_500(
    live: LiveServer, client: httpx.Client
) -> None:
    """The last line: a route added without ``RowId`` (here, at run time) whose number reaches
    SQLite too large answers 422 ``error.number_out_of_range``, in the reader's language."""

    async def lookup(number: int, services: ServicesDep) -> dict[str, bool]:
        async with services.db.session() as session:
            return {"found": await session.get(Conversation, number) is not None}

    live.app.add_api_route("/api/test-plain-int/{number}", lookup)  # type: ignore[attr-defined]
    assert client.get("/api/test-plain-int/1").status_code == 200
    response = client.get(f"/api/test-plain-int/{2**63}", headers={"accept-language": "en"})
    assert response.status_code == 422, response.text
    assert response.json() == {
        "detail": "This number is out of range: no such item exists.",
        "code": "error.number_out_of_range",
    }

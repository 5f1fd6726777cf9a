"""Every route and every dependency of the app is a coroutine: FastAPI runs a plain function in
a worker thread, so one sync dependency costs each request a hop there and back (and the
worker's threads are few: under load, requests would queue for them)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute

from app.main import create_app
from app.settings import Settings


def _calls(dependant: Dependant) -> Iterator[Any]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _routes(routes: list[Any]) -> Iterator[APIRoute | APIWebSocketRoute]:
    """The app's routes, those of the routers it includes too (no router adds dependencies of
    its own: each route's are in its ``dependant``)."""
    for route in routes:
        if isinstance(route, APIRoute | APIWebSocketRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)


def test_no_route_or_dependency_runs_in_a_worker_thread(settings: Settings) -> None:
    app = create_app(settings)
    routes = list(_routes(app.routes))
    assert len(routes) > 100  # the whole app, not a part of it
    sync = {
        f"{route.path}: {call.__module__}.{call.__qualname__}"
        for route in routes
        for call in _calls(route.dependant)
        if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call))
    }
    assert not sync, sorted(sync)

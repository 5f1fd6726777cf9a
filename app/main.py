"""The ASGI application: ``create_app()`` wires settings, services, routes and background tasks."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlmodel import select

from app import gc_tuning, keys, leadership, offline, outage, search_backlog, widget_closing
from app.actions import ActionError
from app.assignment import assign_waiting
from app.channels import load_connectors, supervise
from app.dashboard import DashboardError
from app.db import migrate
from app.dispatch import supervise_dispatchers
from app.handover import hand_over
from app.models import Office
from app.privacy import keep_swept
from app.realtime import stop
from app.recovery import keep_replaying
from app.rollups import keep_built
from app.services import Services
from app.settings import Settings, get_settings
from app.web import (
    account_setup,
    accounts_pages,
    answers_api,
    api,
    contacts_api,
    dashboard_pages,
    errors,
    files_api,
    hardening,
    labels_api,
    moderation_api,
    offline_api,
    pages,
    password_pages,
    rota_pages,
    rules_api,
    search_api,
    survey_pages,
    team_api,
    team_pages,
    users_api,
    visitor_data_api,
    visitor_ws,
    weekly_report_pages,
    widget_api,
    widget_bundle,
    ws,
    x_api,
)
from app.web.headers import SecurityHeaders
from app.web.render import ROOT
from app.web.unavailable import redis_unavailable_response
from app.web.visitor_api import VisitorCors
from app.weekly_report_mail import keep_sending

log = logging.getLogger(__name__)


async def sweep_queues(services: Services) -> None:
    """Every few seconds: hands queued conversations over when the duty changes hands, and
    assigns what no event woke up (an adviser's presence expiring…). One worker of the
    installation sweeps (app/leadership.py); another takes over within three sweeps of its
    end. Each pass is safe to run twice (both take their own locks), so a lease lapsing under
    a stalled worker costs a repeated pass, never a wrong one."""
    every = services.settings.sweep_seconds
    while True:
        await asyncio.sleep(every)
        try:
            if not await leadership.holds(
                services.redis, keys.sweep_lease(), services.worker_id, 3 * every
            ):
                continue
            async with services.db.session() as session:
                offices = (await session.exec(select(Office))).all()
            for destination_id in {o.destination_id for o in offices}:
                await hand_over(services, destination_id)
            for office in offices:
                if office.id is not None:
                    await assign_waiting(services, office.destination_id, office.id)
        except Exception as exc:  # the sweep must outlive a passing database or Redis error
            if not outage.quiet(exc, "queue sweep"):
                log.exception("queue sweep failed")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    services = Services.create(settings, serving=True)
    outage.install_log_filter()  # one line per Redis outage, not a traceback per socket
    await migrate(services.db.engine)  # a no-op when `concierge run` migrated before the workers
    await load_connectors(services)
    app.state.services = services
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    # Connector leases name the machine and the process (services.worker_id): a worker restarted
    # on the same machine takes over its dead predecessor's lease at once (app/channels.py).
    tasks = [
        # One outbox dispatcher per destination, those added while the app runs included.
        asyncio.create_task(supervise_dispatchers(services, consumer), name="outbox"),
        asyncio.create_task(sweep_queues(services)),
        asyncio.create_task(supervise(services, services.worker_id)),
        asyncio.create_task(keep_replaying(services), name="relay"),
        asyncio.create_task(outage.watch(services.redis), name="redis-watch"),
        asyncio.create_task(keep_built(services, consumer)),
        asyncio.create_task(keep_swept(services, consumer)),
        asyncio.create_task(offline.keep_noticing(services), name="offline-notice"),
        asyncio.create_task(keep_sending(services, consumer), name="weekly-report"),
        asyncio.create_task(widget_closing.keep_closing(services), name="widget-closing"),
        asyncio.create_task(search_backlog.keep_indexed(services), name="search-index"),
    ]
    gc_tuning.settle()  # start-up's objects stay for the worker's life (app.gc_tuning)
    try:
        yield
    finally:
        failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
        for task in failed:  # a background task that died must not stop the shutdown
            log.error("background task %s had failed", task.get_name(), exc_info=task.exception())
        # A cancellation a Redis call swallowed is sent again (realtime.stop): a loop around
        # Redis would otherwise keep the process from exiting.
        await asyncio.gather(*(stop(task) for task in tasks))
        await services.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Concierge",
        summary="Real-time shared helpdesk for tourist destinations.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.add_middleware(SecurityHeaders)
    app.add_middleware(VisitorCors)
    hardening.install(app, settings)  # input guard, trusted proxies, no secrets in logs
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(team_api.router)
    app.include_router(moderation_api.router)
    app.include_router(users_api.router)
    app.include_router(rota_pages.router)
    app.include_router(dashboard_pages.router)
    app.include_router(weekly_report_pages.router)
    app.include_router(accounts_pages.router)
    app.include_router(account_setup.router)
    app.include_router(password_pages.router)
    app.include_router(team_pages.router)
    app.include_router(ws.router)
    app.include_router(visitor_ws.router)
    app.include_router(x_api.router)
    app.include_router(answers_api.router)
    app.include_router(search_api.router)
    app.include_router(labels_api.router)
    app.include_router(rules_api.router)
    app.include_router(contacts_api.router)
    app.include_router(widget_bundle.router)  # before /static: the widget is joined from parts
    app.include_router(widget_api.router)
    app.include_router(offline_api.router)
    app.include_router(files_api.router)
    app.include_router(survey_pages.router)
    app.include_router(visitor_data_api.router)
    app.add_exception_handler(ActionError, errors.action_error_response)
    app.add_exception_handler(RequestValidationError, errors.validation_error_response)
    app.add_exception_handler(DashboardError, dashboard_pages.error_response)
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")

    app.add_exception_handler(RedisConnectionError, redis_unavailable_response)
    app.add_exception_handler(RedisTimeoutError, redis_unavailable_response)

    @app.get("/healthz", include_in_schema=False, response_model=None)
    async def healthz() -> dict[str, str] | JSONResponse:
        """200 while Redis answers; 503 with a short reason while it does not (never 500)."""
        services: Services = app.state.services
        try:
            await asyncio.wait_for(services.redis.ping(), timeout=2.0)
        except Exception as exc:  # any failure to answer is "down" for a load balancer
            outage.quiet(exc, "healthz")
            return JSONResponse(
                {"status": "unavailable", "reason": f"redis: {type(exc).__name__}"},
                status_code=503,
            )
        return {"status": "ok"}

    return app

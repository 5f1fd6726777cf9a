"""The ``concierge`` command: run the helpdesk, seed the demo, manage users."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import destinations, migrations, redis_connect, removal, rota_admin, widget_look
from app.clock import Clock
from app.connector_registry import readable, secret_variable
from app.db import Database, migrate
from app.demo import Login, seed
from app.demo_history import generate
from app.demo_workspace import seed_workspace
from app.embedded_redis import EmbeddedRedis
from app.models import Account, Destination, Office, Role, User
from app.rollups import build_stale
from app.serving import EXIT_CANNOT_LISTEN, CannotListen, check_address, serve
from app.settings import Settings, get_settings
from rota import Plan, Problem, RotaValidationError, Schedule, check, dumps_toml, plan

cli = typer.Typer(
    help="Concierge: a real-time shared helpdesk for tourist destinations.", no_args_is_help=True
)
user_cli = typer.Typer(help="Manage advisers and managers.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")
rota_cli = typer.Typer(help="The shared duty rota: import, export, check.", no_args_is_help=True)
cli.add_typer(rota_cli, name="rota")
account_cli = typer.Typer(
    help="An office's accounts: add, configure mailboxes and X accounts, rename, disable.",
    no_args_is_help=True,
)
cli.add_typer(account_cli, name="account")
destination_cli = typer.Typer(
    help="Destinations of this installation: add, list, rename.", no_args_is_help=True
)
cli.add_typer(destination_cli, name="destination")
office_cli = typer.Typer(
    help="Tourist offices of a destination: add, rename.", no_args_is_help=True
)
cli.add_typer(office_cli, name="office")
db_cli = typer.Typer(
    help="The database schema: upgrade, current, new migrations.", no_args_is_help=True
)
cli.add_typer(db_cli, name="db")

log = logging.getLogger("concierge")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _ensure_dev_secret(settings: Settings) -> None:
    """In development, keep one random secret under var/ so tokens survive restarts."""
    if "CONCIERGE_SECRET_KEY" in os.environ or settings.environment == "production":
        return
    path = settings.var_dir / "secret_key"
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48))
    os.environ["CONCIERGE_SECRET_KEY"] = path.read_text(encoding="utf-8").strip()


async def _prepare(settings: Settings, demo: bool) -> list[Login] | None:
    db = Database(settings.sqlalchemy_url)
    try:
        await migrate(db.engine)
        if not demo:
            return None
        async with db.session() as session:
            return await seed(session)
    finally:
        await db.dispose()


def _print_logins(settings: Settings, logins: list[Login] | None) -> None:
    """Prints the demo passwords once, when the demo destination is created; later starts only
    say where they are kept (a private file), so they do not pile up in logs and journals."""
    path = settings.var_dir / "demo-logins.txt"
    if logins:
        lines = [f"{x.email:38} {x.password:14} {x.role:20} {x.office}" for x in logins]
        _write_private(path, "\n".join(lines) + "\n")
        typer.echo("\nDemo logins (e-mail, password, role, office) — also in " + str(path) + ":")
        typer.echo(path.read_text(encoding="utf-8"))
    elif path.exists():
        typer.echo(f"\nDemo logins: see {path} (readable by this account only).")
    typer.echo(f"Adviser inbox:      {settings.base_url}/login")
    typer.echo(f"Demo visitor page:  {settings.base_url}/demo\n")


def _private_var_dir(settings: Settings) -> None:
    """``var/`` holds the database, the Redis data (sessions) and the secret key: only this
    account may enter it. New files are created private (umask 077, inherited by the embedded
    Redis server, whose append-only files hold session ids); an older install is tightened."""
    os.umask(0o077)
    settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.var_dir.chmod(0o700)
    redis_dir = settings.var_dir / "redis"
    if redis_dir.is_dir():
        for path in [redis_dir, *redis_dir.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


@cli.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int | None, typer.Option(help="App processes sharing one Redis.")] = None,
) -> None:
    """Start the helpdesk (with an embedded Redis server when REDIS_URL is unset)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    if host:
        os.environ["CONCIERGE_HOST"] = host
    if port:
        os.environ["CONCIERGE_PORT"] = str(port)
    try:  # before the embedded Redis and the workers start: a taken port says so at once
        check_address(host or settings.host, port or settings.port)
    except CannotListen as exc:
        typer.echo(f"concierge run: {exc}", err=True)
        raise typer.Exit(EXIT_CANNOT_LISTEN) from None
    try:  # a REDIS_URL that cannot be used says so before anything starts (no password shown)
        if settings.redis_url:
            redis_connect.check(settings.redis_url)
    except redis_connect.RedisUrlError as exc:
        typer.echo(f"concierge run: {exc}", err=True)
        raise typer.Exit(2) from None
    _private_var_dir(settings)
    _ensure_dev_secret(settings)
    redis: EmbeddedRedis | None = None
    if not settings.redis_url:
        redis = EmbeddedRedis(settings.var_dir / "redis")
        redis.start()
        redis.supervise()  # a server that dies is started again: same port, password and data
        os.environ["REDIS_URL"] = redis.url
    get_settings.cache_clear()
    settings = get_settings()
    # uvicorn re-raises the signal that stopped it; make SIGTERM unwind like Ctrl-C does, so the
    # embedded Redis below is stopped cleanly in both cases.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        logins = asyncio.run(_prepare(settings, settings.demo))
        if logins and settings.demo_history_days:
            typer.echo(
                f"Writing {settings.demo_history_days} days of demo history for the dashboard…"
            )
            asyncio.run(_history(settings, settings.demo_history_days, None))
        if logins:
            asyncio.run(_workspace(settings))
        _print_logins(settings, logins)
        # uvicorn, its workers supervised with CONCIERGE_WORKER_HEALTHCHECK_SECONDS of grace
        serve(settings, workers or settings.workers)
    except CannotListen as exc:  # taken between the check above and uvicorn's bind
        typer.echo(f"concierge run: {exc}", err=True)
        raise typer.Exit(EXIT_CANNOT_LISTEN) from None
    finally:
        if redis is not None:
            redis.stop()
            typer.echo("embedded Redis stopped")


@cli.command()
def demo(
    days: Annotated[
        int, typer.Option(min=0, max=730, help="Also write this many days of history.")
    ] = 0,
) -> None:
    """Seed the demo destination (offices, advisers, chat widgets) into an empty database."""
    settings = get_settings()
    logins = asyncio.run(_prepare(settings, demo=True))
    if logins is None:
        typer.echo("A destination already exists: nothing seeded.")
    _print_logins(settings, logins)
    if days:
        with typer.progressbar(length=days, label=f"Writing {days} days of history") as bar:
            written = asyncio.run(_history(settings, days, bar.update))
        typer.echo(f"{written} conversations written")
    if logins is not None:
        asyncio.run(_workspace(settings))


async def _workspace(settings: Settings) -> None:
    db = Database(settings.sqlalchemy_url)
    try:
        await seed_workspace(db)
    finally:
        await db.dispose()


async def _history(settings: Settings, days: int, progress: Any) -> int:
    db = Database(settings.sqlalchemy_url)
    try:
        now = Clock(settings.clock_start).now()
        async with db.session() as session:
            written = await generate(session, days, now, progress=progress)
            destination = (await session.exec(select(Destination))).first()
        if destination is not None:  # the dashboard reads these days from their rollups
            await build_stale(
                db, destination, now.astimezone(ZoneInfo(destination.timezone)).date()
            )
        return written
    finally:
        await db.dispose()


@user_cli.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="Login e-mail.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[
        Role, typer.Option(help="adviser, office_manager or destination_manager.")
    ] = Role.ADVISER,
    office: Annotated[
        str | None, typer.Option(help="Office slug (required unless destination_manager).")
    ] = None,
    language: Annotated[str, typer.Option(help="fr, en, or empty to follow the browser.")] = "",
    destination: Annotated[
        str | None,
        typer.Option(help="Destination slug (with several: the office's, or the manager's)."),
    ] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="Password (prompted)."
        ),
    ] = "",
) -> None:
    """Add an adviser or a manager."""
    asyncio.run(
        _user_add(get_settings(), email, name, role, office, language, password, destination)
    )


async def _user_add(
    settings: Settings,
    email: str,
    name: str,
    role: Role,
    office_slug: str | None,
    language: str,
    password: str,
    destination_slug: str | None = None,
) -> None:
    from app import team_admin
    from app.actions import ActionError
    from app.i18n import gettext

    if role != Role.DESTINATION_MANAGER and not office_slug:
        raise typer.BadParameter("required for advisers and office managers", param_hint="--office")
    if role == Role.DESTINATION_MANAGER and office_slug:
        raise typer.BadParameter("a destination manager has no office", param_hint="--office")
    db = Database(settings.sqlalchemy_url)
    try:
        await migrate(db.engine)
        async with db.session() as session:
            office = None
            try:
                if office_slug:
                    office = await destinations.office_by_slug(
                        session, office_slug, destination_slug
                    )
                    destination_id = office.destination_id
                else:
                    found = await destinations.destination_by_slug(session, destination_slug)
                    assert found.id is not None
                    destination_id = found.id
                user = await team_admin.create_user(
                    session,
                    destination_id=destination_id,
                    office_id=office.id if office else None,
                    email=email,
                    name=name,
                    role=role,
                    password=password,
                    language=language,
                )
            except destinations.DestinationError as exc:
                raise typer.BadParameter(exc.reason, param_hint=exc.field) from None
            except ActionError as exc:
                raise typer.BadParameter(gettext("en", exc.code, **exc.params)) from None
    finally:
        await db.dispose()
    typer.echo(f"added {role} {user.email}")


@user_cli.command("password")
def user_password(
    email: Annotated[str, typer.Argument(help="Login e-mail.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="New password (prompted)."
        ),
    ] = "",
) -> None:
    """Set a user's password (a forgotten one): their open sessions end. Users change their own
    on /password."""
    asyncio.run(_user_password(get_settings(), email, password))


async def _user_password(settings: Settings, email: str, password: str) -> None:
    from app import passwords, session_end
    from app.actions import ActionError
    from app.i18n import gettext
    from app.services import Services

    db = Database(settings.sqlalchemy_url)
    try:
        await migrate(db.engine)
        user = await passwords.reset(db, email, password)
    except ActionError as exc:
        raise typer.BadParameter(
            gettext("en", exc.code, **exc.params), param_hint="--password"
        ) from None
    finally:
        await db.dispose()
    if user is None:
        raise typer.BadParameter("no such user", param_hint="EMAIL")
    ended = ""
    if settings.redis_url:  # the embedded server's password is the running app's own
        services = Services.create(settings)
        try:
            count = await session_end.end_user_sessions(services, user)
            ended = f"; {count} session(s) ended"
        finally:
            await services.close()
    typer.echo(f"password of {user.email} set{ended}")


@user_cli.command("disable")
def user_disable(email: Annotated[str, typer.Argument(help="Login e-mail.")]) -> None:
    """Disable a user: no more sign-in; their sessions and open sockets end (at once when
    REDIS_URL is set, else within seconds, as each socket re-checks its user)."""
    asyncio.run(_user_active(get_settings(), email, False))


@user_cli.command("enable")
def user_enable(email: Annotated[str, typer.Argument(help="Login e-mail.")]) -> None:
    """Let a disabled user sign in again."""
    asyncio.run(_user_active(get_settings(), email, True))


async def _user_active(settings: Settings, email: str, active: bool) -> None:
    from app import session_end  # the app's services: only this command needs them
    from app.services import Services

    if not settings.redis_url:  # the embedded server's password is the running app's own
        db = Database(settings.sqlalchemy_url)
        try:
            async with db.session() as session:
                user = (
                    await session.exec(select(User).where(User.email == email.strip().lower()))
                ).first()
                if user is None:
                    raise typer.BadParameter("no such user", param_hint="EMAIL")
                user.active = active
                session.add(user)
                await session.commit()
        finally:
            await db.dispose()
    else:
        services = Services.create(settings)
        try:
            async with services.db.session() as session:
                user = (
                    await session.exec(select(User).where(User.email == email.strip().lower()))
                ).first()
            if user is None or user.id is None:
                raise typer.BadParameter("no such user", param_hint="EMAIL")
            await session_end.set_active(services, user.id, active)
        finally:
            await services.close()
    typer.echo(f"{'enabled' if active else 'disabled'} {email.strip().lower()}")


async def _with_destination(settings: Settings, slug: str | None, work: Any) -> Any:
    """``work(session, destination)``, the destination named ``slug`` (or the only one)."""

    async def in_destination(session: AsyncSession) -> Any:
        return await work(session, await destinations.destination_by_slug(session, slug))

    return await _in_session(settings, in_destination)


# Accounts' and offices' names are kept a short while by each worker (app.repository.DISPLAY_TTL).
RENAMED_NOTE = "A running Concierge uses the new name within 30 seconds; open pages once reloaded."
DestinationOption = Annotated[str | None, typer.Option(help="Destination slug (if several).")]


@rota_cli.command("import")
def rota_import(
    file: Annotated[Path, typer.Argument(help="A rota in TOML (see docs/rota.example.toml).")],
    destination: DestinationOption = None,
) -> None:
    """Replace the destination's rota with FILE, after checking it; nothing changes on error."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from exc

    async def work(session: AsyncSession, found: Destination) -> None:
        await rota_admin.import_text(session, found, text)

    try:
        asyncio.run(_with_destination(get_settings(), destination, work))
    except RotaValidationError as exc:
        for path, reason in exc.errors:
            typer.echo(f"{path}: {reason}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"rota imported from {file}")


@rota_cli.command("export")
def rota_export(destination: DestinationOption = None) -> None:
    """Print the destination's rota as TOML."""

    async def work(session: AsyncSession, found: Destination) -> str:
        return dumps_toml(await rota_admin.current(session, found))

    typer.echo(asyncio.run(_with_destination(get_settings(), destination, work)), nl=False)


@rota_cli.command("check")
def rota_check(
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days ahead.")] = 30,
    start: Annotated[
        datetime | None, typer.Option(help="From this instant (default: now), with its offset.")
    ] = None,
    destination: DestinationOption = None,
) -> None:
    """List gaps and conflicts in the coming days; exit 1 if there are any."""
    settings = get_settings()
    begin = start or Clock(settings.clock_start).now()
    if begin.utcoffset() is None:
        raise typer.BadParameter(
            "give a UTC offset, e.g. 2026-07-01T00:00:00+02:00", param_hint="--start"
        )

    async def work(session: AsyncSession, found: Destination) -> list[Problem]:
        return check(Schedule(await rota_admin.current(session, found)), begin, days)

    problems = asyncio.run(_with_destination(settings, destination, work))
    for problem in problems:
        span = f"{problem.start:%Y-%m-%d %H:%M}Z → {problem.end:%H:%M}Z"
        typer.echo(f"{problem.kind:9} {span}  {problem.detail}")
    if problems:
        raise typer.Exit(1)
    typer.echo(f"no gap and no conflict in the {days} days from {begin:%Y-%m-%d %H:%M %Z}")


@rota_cli.command("plan")
def rota_plan(
    first: Annotated[
        datetime, typer.Option("--from", help="First day of the season (YYYY-MM-DD).")
    ],
    last: Annotated[datetime, typer.Option("--to", help="Last day of the season (YYYY-MM-DD).")],
    apply: Annotated[bool, typer.Option(help="Store the plan as low-priority overrides.")] = False,
    destination: DestinationOption = None,
) -> None:
    """Plan a fair season: each slot class balanced by weight, unavailability respected."""
    if last < first:
        raise typer.BadParameter("the season ends before it starts", param_hint="--to")

    async def work(session: AsyncSession, found: Destination) -> Plan:
        rota = await rota_admin.current(session, found)
        result = plan(rota, first.date(), last.date())
        if apply:
            await rota_admin.apply_plan(session, found, result)
        return result

    result = asyncio.run(_with_destination(get_settings(), destination, work))
    typer.echo(f"{'office':24} {'weekday evenings':>17} {'weekend days':>13} {'holidays':>9}")
    for office, counts in result.counts.items():
        evenings, weekends, holidays = (
            counts["weekday_evening"],
            counts["weekend_day"],
            counts["holiday"],
        )
        typer.echo(f"{office:24} {evenings:>17} {weekends:>13} {holidays:>9}")
    unfilled = sum(1 for a in result.assignments if a.office is None)
    if unfilled:
        typer.echo(f"{unfilled} slots found nobody available")
    typer.echo("plan stored as overrides" if apply else "not stored: add --apply to use it")


async def _in_session(settings: Settings, work: Any) -> Any:
    """``work(session)`` on a migrated database; a refused input is a typer error (exit 2)."""
    db = Database(settings.sqlalchemy_url)
    try:
        await migrate(db.engine)
        async with db.session() as session:
            return await work(session)
    except destinations.DestinationError as exc:
        raise typer.BadParameter(exc.reason, param_hint=exc.field) from None
    finally:
        await db.dispose()


@destination_cli.command("add")
def destination_add(
    slug: Annotated[str, typer.Argument(help="Short name in URLs, e.g. baie-dargent.")],
    name: Annotated[str, typer.Option(help="The name visitors and advisers see.")],
    timezone: Annotated[
        str, typer.Option(help="IANA time zone of the destination, e.g. Europe/Paris.")
    ] = "Europe/Paris",
) -> None:
    """Add a destination (its offices, accounts and users are added next)."""

    async def work(session: AsyncSession) -> Destination:
        return await destinations.add_destination(session, slug, name, timezone)

    found = asyncio.run(_in_session(get_settings(), work))
    typer.echo(f"added destination {found.slug} ({found.name}, {found.timezone})")
    typer.echo("Next: add its offices, accounts and a manager:")
    typer.echo(f'  concierge office add SLUG --destination {found.slug} --name "…"')
    typer.echo(
        f"  concierge account add KEY --destination {found.slug} --office SLUG "
        '--channel webchat --name "…"'
    )
    typer.echo(
        f'  concierge user add EMAIL --name "…" --role destination_manager '
        f"--destination {found.slug}"
    )
    typer.echo("A running Concierge serves it within seconds; no restart is needed.")


@destination_cli.command("list")
def destination_list() -> None:
    """List the destinations with their offices, accounts and users."""
    rows = asyncio.run(_in_session(get_settings(), destinations.summaries))
    if not rows:
        typer.echo("no destination yet: `concierge destination add` or `concierge demo`")
        return
    typer.echo(f"{'slug':24} {'time zone':20} {'offices':>7} {'accounts':>8} {'users':>5}  name")
    for row in rows:
        typer.echo(
            f"{row.slug:24} {row.timezone:20} {row.offices:>7} {row.accounts:>8} "
            f"{row.users:>5}  {row.name}"
        )


@destination_cli.command("rename")
def destination_rename(
    slug: Annotated[str, typer.Argument(help="The destination's slug (it stays).")],
    name: Annotated[str, typer.Option(help="The new name visitors and advisers see.")],
) -> None:
    """Rename a destination; its slug stays (it is in URLs)."""

    async def work(session: AsyncSession) -> Destination:
        return await destinations.rename_destination(session, slug, name)

    found = asyncio.run(_in_session(get_settings(), work))
    typer.echo(f"destination {found.slug} is now named {found.name}")


@office_cli.command("add")
def office_add(
    slug: Annotated[str, typer.Argument(help="Short name, unique in its destination.")],
    destination: Annotated[str, typer.Option(help="The destination's slug.")],
    name: Annotated[str, typer.Option(help="The office's name, e.g. Office de Tourisme de …")],
) -> None:
    """Add a tourist office to a destination."""

    async def work(session: AsyncSession) -> None:
        await destinations.add_office(session, destination, slug, name)

    asyncio.run(_in_session(get_settings(), work))
    typer.echo(f"added office {slug} to {destination}")
    typer.echo("Next: its accounts and advisers:")
    typer.echo(
        f"  concierge account add KEY --destination {destination} --office {slug} "
        '--channel webchat --name "…"'
    )
    typer.echo(f'  concierge user add EMAIL --name "…" --office {slug} --destination {destination}')


@office_cli.command("rename")
def office_rename(
    slug: Annotated[str, typer.Argument(help="The office's slug (it stays: the rota names it).")],
    name: Annotated[str, typer.Option(help="The office's new name.")],
    destination: DestinationOption = None,
) -> None:
    """Rename an office; its slug stays (the rota names offices by slug)."""

    async def work(session: AsyncSession) -> Office:
        return await destinations.rename_office(session, slug, name, destination)

    found = asyncio.run(_in_session(get_settings(), work))
    typer.echo(f"office {found.slug} is now named {found.name}")
    typer.echo(RENAMED_NOTE)


@office_cli.command("remove")
def office_remove(
    slug: Annotated[str, typer.Argument(help="The office's slug.")],
    destination: DestinationOption = None,
) -> None:
    """Remove an office added by mistake: only one nothing refers to (no user, account or
    conversation; not named by the rota)."""

    async def work(session: AsyncSession) -> Office:
        return await removal.remove_office(session, slug, destination)

    found = asyncio.run(_in_session(get_settings(), work))
    typer.echo(f"removed office {found.slug} ({found.name})")


@account_cli.command("add")
def account_add(
    key: Annotated[str, typer.Argument(help="Unique key, e.g. chat-port-argent.")],
    destination: Annotated[str, typer.Option(help="The destination's slug.")],
    office: Annotated[str, typer.Option(help="The office's slug.")],
    channel: Annotated[str, typer.Option(help="webchat, email or twitter.")],
    name: Annotated[str, typer.Option(help="The name advisers see, e.g. Chat Port-Argent.")],
) -> None:
    """Add an account to an office: a chat widget (live at once), a mailbox or an X account
    (inactive until `concierge account email|x KEY …` connects it)."""

    async def work(session: AsyncSession) -> Account:
        return await destinations.add_account(session, key, destination, office, channel, name)

    settings = get_settings()
    account = asyncio.run(_in_session(settings, work))
    typer.echo(f"added {account.channel} account {account.key} to {office} ({destination})")
    if account.channel == "webchat":
        typer.echo("Put the chat widget on the office's website:")
        typer.echo("  " + widget_look.embed_snippet(settings.base_url, account.key))
    elif account.channel == "email":
        typer.echo("Inactive until connected:")
        typer.echo(
            f"  concierge account email {account.key} --address A --imap-host H --imap-user U"
        )
    else:
        typer.echo("Inactive until connected:")
        typer.echo(f"  concierge account x {account.key} --handle H --user-id N")


@account_cli.command("rename")
def account_rename(
    key: Annotated[str, typer.Argument(help="The account's key (it stays).")],
    name: Annotated[str, typer.Option(help="The name advisers see.")],
) -> None:
    """Rename an account; its key stays (the widget's snippet and the secrets carry it)."""

    async def work(session: AsyncSession) -> Account:
        return await destinations.rename_account(session, key, name)

    found = asyncio.run(_in_session(get_settings(), work))
    typer.echo(f"account {found.key} is now named {found.name}")
    typer.echo(RENAMED_NOTE)


@account_cli.command("disable")
def account_disable(key: Annotated[str, typer.Argument(help="The account's key.")]) -> None:
    """Disable an account: its mailbox or X account is no longer read nor written from, its
    widget opens no new chat and ends those open. Its conversations stay; enable it again at any
    time."""

    async def work(session: AsyncSession) -> Account:
        return await destinations.set_active(session, key, False)

    found = asyncio.run(_in_session(get_settings(), work))
    typer.echo(f"{found.channel} account {found.key} disabled")
    typer.echo(
        "A running Concierge stops its connector (or closes its widget's chats) within seconds;"
        " nothing stored is removed."
    )


@account_cli.command("enable")
def account_enable(key: Annotated[str, typer.Argument(help="The account's key.")]) -> None:
    """Enable a disabled account again (a mailbox or X account must have been connected)."""

    async def work(session: AsyncSession) -> Account:
        return await destinations.set_active(session, key, True)

    found = asyncio.run(_in_session(get_settings(), work))
    typer.echo(f"{found.channel} account {found.key} enabled")
    typer.echo("A running Concierge starts its connector within seconds.")


@account_cli.command("remove")
def account_remove(key: Annotated[str, typer.Argument(help="The account's key.")]) -> None:
    """Remove a disabled account added by mistake: only one that has served no visitor (no
    conversation, message or quarantined mail; not named by the rota). One that has stays
    disabled, with its conversations."""

    async def work(session: AsyncSession) -> Account:
        return await removal.remove_account(session, key)

    settings = get_settings()
    found = asyncio.run(_in_session(settings, work))
    if settings.redis_url:  # the embedded server's password is the running app's own
        asyncio.run(_forget_connector(settings, found))
    typer.echo(f"removed {found.channel} account {found.key} ({found.name})")


async def _forget_connector(settings: Settings, account: Account) -> None:
    from app import channels  # the app's services: only this command needs them
    from app.services import Services

    services = Services.create(settings)
    try:
        await channels.forget(services, account)
    finally:
        await services.close()


@account_cli.command("target")
def account_target(
    key: Annotated[str, typer.Argument(help="The account's key.")],
    seconds: Annotated[
        int, typer.Argument(min=0, help="First-response target; 0: the channel's default.")
    ],
) -> None:
    """Set an account's first-response target used by the dashboard."""

    async def work() -> None:
        db = Database(get_settings().sqlalchemy_url)
        try:
            async with db.session() as session:
                account = (await session.exec(select(Account).where(Account.key == key))).first()
                if account is None:
                    raise typer.BadParameter(f"no account {key!r}", param_hint="KEY")
                account.target_seconds = seconds or None
                session.add(account)
                await session.commit()
        finally:
            await db.dispose()

    asyncio.run(work())
    typer.echo(f"{key}: target {seconds or 'default'} s")


@account_cli.command("email")
def account_email(
    key: Annotated[str, typer.Argument(help="The account's key, e.g. mail-port-argent.")],
    address: Annotated[str, typer.Option(help="The mailbox's address.")],
    imap_host: Annotated[str, typer.Option(help="IMAP server.")],
    imap_user: Annotated[str, typer.Option(help="IMAP login.")],
    imap_port: Annotated[int, typer.Option(help="IMAP port.")] = 993,
    imap_security: Annotated[str, typer.Option(help="tls, starttls or plain.")] = "tls",
    folder: Annotated[str, typer.Option(help="Folder to watch.")] = "INBOX",
    sent_folder: Annotated[str, typer.Option(help="Where copies of replies go.")] = "Sent",
    smtp_host: Annotated[str, typer.Option(help="SMTP server (replies).")] = "",
    smtp_port: Annotated[int, typer.Option(help="SMTP port.")] = 465,
    smtp_security: Annotated[str, typer.Option(help="tls, starttls or plain.")] = "tls",
    smtp_user: Annotated[str, typer.Option(help="SMTP login (empty: no login).")] = "",
    display_name: Annotated[str, typer.Option(help="Name shown in replies.")] = "",
    poll_interval: Annotated[float, typer.Option(help="Poll interval without IDLE.")] = 60,
    tls_ca_file: Annotated[
        str, typer.Option(help="PEM file of extra certificates to trust (absolute path).")
    ] = "",
    backfill_days: Annotated[
        int, typer.Option(help="First run: bring in the mail of the last N days (0: none).")
    ] = 7,
) -> None:
    """Connect a mailbox account; its passwords come from the environment (printed below)."""
    from connectors.email.config import MailboxConfig

    settings_data = {
        "address": address, "display_name": display_name, "imap_host": imap_host,
        "imap_port": imap_port, "imap_security": imap_security, "imap_user": imap_user,
        "folder": folder, "sent_folder": sent_folder, "smtp_host": smtp_host,
        "smtp_port": smtp_port, "smtp_security": smtp_security, "smtp_user": smtp_user,
        "poll_interval": poll_interval, "tls_ca_file": tls_ca_file,
        "backfill_days": backfill_days,
    }  # fmt: skip
    try:
        # Checks the settings alone: passwords are not stored, they come from the environment.
        placeholder = {"imap_password": "unset", "smtp_password": "unset"}
        MailboxConfig(**settings_data, **placeholder, account=key)
    except ValidationError as exc:
        typer.echo(readable(exc), err=True)
        raise typer.Exit(1) from None
    asyncio.run(_configure(get_settings(), key, "email", settings_data))
    typer.echo(f"{key} configured. Set its secrets in the environment before `concierge run`:")
    typer.echo(f"  {secret_variable(key, 'imap_password')}")
    if smtp_user:
        typer.echo(f"  {secret_variable(key, 'smtp_password')}")


@account_cli.command("x")
def account_x(
    key: Annotated[str, typer.Argument(help="The account's key, e.g. x-port-argent.")],
    handle: Annotated[str, typer.Option(help="The account's @handle.")],
    user_id: Annotated[str, typer.Option(help="The account's numeric X user id.")],
    poll_interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 60,
    direct_messages: Annotated[bool, typer.Option(help="Also read direct messages.")] = True,
) -> None:
    """Connect an X account; its tokens come from the environment (printed below)."""
    from connectors.twitter.config import XAccountConfig

    settings_data = {
        "handle": handle.lstrip("@"),
        "user_id": user_id,
        "poll_interval": poll_interval,
        "direct_messages": direct_messages,
    }
    try:
        # Checks the settings alone: tokens are not stored, they come from the environment.
        XAccountConfig(**settings_data, **{"account": key, "bearer_token": "unset"})
    except ValidationError as exc:
        typer.echo(readable(exc), err=True)
        raise typer.Exit(1) from None
    asyncio.run(_configure(get_settings(), key, "twitter", settings_data))
    typer.echo(f"{key} configured. Set its tokens in the environment before `concierge run`:")
    typer.echo(f"  {secret_variable(key, 'bearer_token')}  (reading)")
    for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        typer.echo(f"  {secret_variable(key, name)}  (posting and DMs, OAuth 1.0a)")
    typer.echo(
        f"  or {secret_variable(key, 'oauth2_user_token')}  (posting and DMs, OAuth 2.0 user)"
    )


async def _configure(settings: Settings, key: str, channel: str, data: dict[str, Any]) -> None:
    db = Database(settings.sqlalchemy_url)
    try:
        await migrate(db.engine)
        async with db.session() as session:
            account = (await session.exec(select(Account).where(Account.key == key))).first()
            if account is None:
                raise typer.BadParameter(f"no account {key!r}", param_hint="KEY")
            if account.channel != channel:
                raise typer.BadParameter(
                    f"{key!r} is a {account.channel} account", param_hint="KEY"
                )
            account.settings = json.dumps(data)
            account.active = True
            session.add(account)
            await session.commit()
    finally:
        await db.dispose()


@cli.command("weekly-report")
def weekly_report_command(
    out: Annotated[Path, typer.Option(help="Where to write it: a .pdf or .html file.")],
    week: Annotated[
        str, typer.Option(help="ISO week, e.g. 2026-W48 (default: the last complete week).")
    ] = "",
    office: Annotated[
        str | None, typer.Option(help="Office slug: that office's part (default: every office).")
    ] = None,
    language: Annotated[str, typer.Option(help="fr or en.")] = "",
    destination: DestinationOption = None,
) -> None:
    """Write the weekly report (the one e-mailed to managers on Mondays) to a PDF or HTML file."""
    from app.weekly_report_cli import render_file

    try:
        label, data = asyncio.run(
            render_file(get_settings(), out, week, office, language, destination)
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    out.write_bytes(data)
    typer.echo(f"weekly report {label} written to {out}")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema (`concierge run` also does it at start-up)."""

    async def work() -> tuple[str | None, str | None]:
        db = Database(get_settings().sqlalchemy_url)
        try:
            return await migrate(db.engine)
        finally:
            await db.dispose()

    before, after = asyncio.run(work())
    if before == after:
        typer.echo(f"already at {after} (head): nothing to do")
    elif before is None:  # an empty database, or one made before migrations (stamped first)
        typer.echo(f"upgraded to {after} (head)")
    else:
        typer.echo(f"upgraded from {before} to {after} (head)")


@cli.command("migrate")
def migrate_command() -> None:
    """Bring the database to the newest schema (as `concierge db upgrade`).

    Run it before rolling out a new version; processes started together migrate only once."""
    db_upgrade()


@db_cli.command("current")
def db_current() -> None:
    """Show the database's schema revision and the newest one; exit 1 if it is behind."""

    async def work() -> tuple[str | None, str | None]:
        db = Database(get_settings().sqlalchemy_url)
        try:
            async with db.engine.connect() as conn:
                current = await conn.run_sync(migrations.current)
                matched = await conn.run_sync(migrations.made_before_migrations)
                return current, matched
        finally:
            await db.dispose()

    current, matched = asyncio.run(work())
    head = migrations.head()
    if current is None and matched is None:
        typer.echo(f"current: none (empty database)\nhead:    {head}")
    elif current is None:
        typer.echo(f"current: none (made before migrations; its tables are {matched})")
        typer.echo(f"head:    {head}")
    else:
        typer.echo(f"current: {current}\nhead:    {head}")
    if current == head:
        typer.echo("up to date")
        return
    typer.echo("run `concierge db upgrade` to bring it up to date")
    raise typer.Exit(1)


@db_cli.command("revision")
def db_revision(
    message: Annotated[str, typer.Argument(help="What the migration does, in a few words.")],
    autogenerate: Annotated[
        bool, typer.Option(help="Fill it with what app/models.py has that migrations do not.")
    ] = True,
) -> None:
    """Write the next migration script (for developers: read and edit it before committing)."""
    path = migrations.new_revision(message, autogenerate)
    typer.echo(f"wrote {path}")


def main() -> None:
    cli()

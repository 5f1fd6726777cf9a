"""``concierge weekly-report``: the weekly report written to a file, read as a manager reads it."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from app import weekly_report
from app.clock import Clock
from app.dashboard import DashboardError
from app.db import Database, migrate
from app.i18n import LANGUAGES, Translator, gettext
from app.models import Destination, Office, Role, User
from app.settings import Settings
from app.weekly_report import Week


async def render_file(
    settings: Settings,
    out: Path,
    week_text: str,
    office_slug: str | None,
    language: str,
    destination_slug: str | None,
) -> tuple[str, bytes]:
    """The week's label and the report as the file ``out`` names (.pdf or .html); ValueError
    saying why not."""
    kind = out.suffix.lower()
    if kind not in (".pdf", ".html", ".htm"):
        raise ValueError("--out must end in .pdf or .html")
    if language and language not in LANGUAGES:
        raise ValueError("--language: fr or en")
    t = Translator(language or settings.default_language)
    db = Database(settings.sqlalchemy_url)
    try:
        await migrate(db.engine)
        async with db.session() as session:
            query = select(Destination)
            if destination_slug:
                query = query.where(Destination.slug == destination_slug)
            found = (await session.exec(query)).all()
            if len(found) != 1 or found[0].id is None:
                raise ValueError(
                    "no such destination" if not found else "several destinations: --destination"
                )
            destination = found[0]
            assert destination.id is not None
            # Read as its managers read it: the destination's, or one office's part.
            reader = User(
                destination_id=destination.id,
                email="",
                name="",
                password_hash="",
                role=Role.DESTINATION_MANAGER,
            )
            if office_slug:
                office = (
                    await session.exec(
                        select(Office).where(
                            Office.destination_id == destination.id, Office.slug == office_slug
                        )
                    )
                ).first()
                if office is None:
                    raise ValueError(f"no office {office_slug!r}")
                reader.role, reader.office_id = Role.OFFICE_MANAGER, office.id
            now = Clock(settings.clock_start).now()
            try:
                week = (
                    Week.parse(week_text)
                    if week_text
                    else Week.last_complete(now, destination.timezone)
                )
                week.check_over(now, destination.timezone)
            except DashboardError as exc:
                raise ValueError(gettext("en", exc.code)) from None
            report = await weekly_report.build(session, reader, week)
    finally:
        await db.dispose()
    if kind == ".pdf":
        return week.label, weekly_report.pdf(report, t)
    from app.web.weekly_report_pages import document

    return week.label, document(report, t).encode()

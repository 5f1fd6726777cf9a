"""Alembic migrations of the SQL schema, configured from the application (no alembic.ini).

``app.db.migrate`` brings a database to head; ``concierge db`` wraps these for operators.
Scripts are named ``NNNN_slug.py`` with the revision id ``NNNN``, one after the other.
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect
from sqlmodel.sql.sqltypes import AutoString

from app.models import UTCDateTime

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


class _QuietContext(logging.Filter):
    """Alembic announces its dialect whenever a context is made, several times per start, and
    says "non-transactional DDL" though ``app.db.migrate`` runs it in a transaction: only the
    upgrades it runs are worth a line in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_QuietContext())

# The schema ``create_all`` made before there were migrations: the baseline, or the baseline with
# ``activity`` (that table was in the models for a while before its migration existed).
BASELINE = "0001"
WITH_ACTIVITY = "0002"


def config(connection: Connection | None = None) -> Config:
    """An Alembic configuration of these scripts; ``env.py`` runs them on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE).replace("%", "%%"))
    cfg.set_main_option("timezone", "UTC")  # aware "Create Date" in new scripts
    if importlib.util.find_spec("ruff") is not None:  # a development install: format new scripts
        cfg.set_section_option("post_write_hooks", "hooks", "format, fix")
        for name, options in (("format", "format --quiet"), ("fix", "check --fix --quiet")):
            cfg.set_section_option("post_write_hooks", f"{name}.type", "module")
            cfg.set_section_option("post_write_hooks", f"{name}.module", "ruff")
            cfg.set_section_option(
                "post_write_hooks", f"{name}.options", f"{options} REVISION_SCRIPT_FILENAME"
            )
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    found = scripts().get_current_head()
    assert found is not None
    return found


def current(connection: Connection) -> str | None:
    """The database's revision; None for an empty database or one made before migrations."""
    return MigrationContext.configure(connection).get_current_revision()


def next_revision_id() -> str:
    found = scripts().get_current_head()
    return f"{int(found or 0) + 1:04d}"


def made_before_migrations(connection: Connection) -> str | None:
    """For a database without a version: the revision its tables match, None when it is empty."""
    tables = set(inspect(connection).get_table_names())
    if "destination" not in tables:
        return None
    return WITH_ACTIVITY if "activity" in tables else BASELINE


def upgrade(connection: Connection, target: str = "head") -> tuple[str | None, str | None]:
    """Upgrades the database on ``connection`` (in the caller's transaction) to ``target``.

    A database that ``create_all`` made before migrations existed has our tables and no version:
    it is stamped with the revision its tables match first, so nothing is created twice and
    every row stays. Returns the revisions before and after."""
    before = current(connection)
    if before is None and (found := made_before_migrations(connection)) is not None:
        log.info("database made before migrations: stamped %s", found)
        MigrationContext.configure(connection).stamp(scripts(), found)
    command.upgrade(config(connection), target)
    return before, current(connection)


def downgrade(connection: Connection, target: str) -> None:
    command.downgrade(config(connection), target)


def stamp(connection: Connection, revision: str = "head") -> None:
    """Records ``revision`` without running anything: for a schema made by ``create_all``."""
    MigrationContext.configure(connection).stamp(scripts(), revision)


def new_revision(message: str, autogenerate: bool) -> Path:
    """Writes the next script into ``versions/``; with ``autogenerate``, filled with what the
    models have that the migrations do not (compared on a scratch SQLite database at head)."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'head.db'}")
        try:
            with engine.begin() as connection:
                upgrade(connection)
                written = command.revision(
                    config(connection),
                    message,
                    autogenerate=autogenerate,
                    rev_id=next_revision_id(),
                )
        finally:
            engine.dispose()
    assert isinstance(written, Script)
    return Path(written.path)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Writes the app's column types as plain SQLAlchemy ones, so that a script keeps meaning
    the same schema whatever later happens to ``app.models``."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False

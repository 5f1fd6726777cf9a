"""The objects the chat's hot path reads (its account, contact, conversation, adviser), made
without the ORM's loading.

A unit of work of the hot path reads a handful of rows it then changes or hands to the
router as model objects. ``session.exec(select(Model)…)`` cost about 90 µs more than the same
row read past the ORM (``db.plain_rows``: on SQLite's quick path, the driver itself): the
ORM's execution builds a query context, a loading plan and a result before it makes the
object. Here the row is read by :func:`app.db.plain_rows` and made the model's object with
SQLAlchemy's own means for it (``make_transient_to_detached``, then ``Session.add``): the
object is persistent in the session, unchanged, in its identity map, its later changes
flushed as any loaded object's are — as if the ORM had read it.

As an ORM read does, an object the session already holds under the row's key is given back
as it is (changes kept), its expired attributes filled from the row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Executable, Select, bindparam, inspect
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.exc import UnmappedColumnError
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True, slots=True)
class _Shape:
    """One model of a select: its mapper, where its columns are in the row, each column's
    attribute in that order, and the positions of its primary key among them."""

    mapper: Mapper[Any]
    start: int
    attributes: tuple[str, ...]
    primary: tuple[int, ...]


# By the statement's id, the statement kept with its shapes (the hot path's are constants).
_SHAPES: dict[int, tuple[object, tuple[_Shape, ...]]] = {}
_BY_ID: dict[type[SQLModel], Executable] = {}
_REFUSED = "a select of whole models (each of their columns) is read as objects"


async def objects(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> list[Any]:
    """The objects ``statement`` — a ``select`` of one or more models, all their columns,
    joined as it likes — reads, as ``session.exec(statement).all()`` gives them: an object a
    row for one model, a tuple of them for several (see the module's text)."""
    shapes = _shapes(statement)
    rows = await db.plain_rows(session, statement, params)
    sync = session.sync_session
    if len(shapes) == 1:
        return [_made(sync, shapes[0], row) for row in rows]
    return [tuple(_made(sync, shape, row) for shape in shapes) for row in rows]


async def get(session: AsyncSession, model: type[M], ident: int) -> M | None:
    """``session.get(model, ident)``, read as :func:`objects` reads: the object the session
    holds with nothing to load, else its row."""
    mapper = inspect(model)
    held = session.sync_session.identity_map.get(mapper.identity_key_from_primary_key((ident,)))
    if held is not None and not instance_state(held).unloaded:
        return cast(M, held)
    statement = _BY_ID.get(model)
    if statement is None:
        (primary,) = mapper.primary_key
        statement = _BY_ID[model] = select(model).where(primary == bindparam("ident"))
    found = await objects(session, statement, {"ident": ident})
    return cast(M, found[0]) if found else None


def _made(sync: Session, shape: _Shape, row: Sequence[Any]) -> Any:
    values = row[shape.start : shape.start + len(shape.attributes)]
    key = shape.mapper.identity_key_from_primary_key(tuple(values[i] for i in shape.primary))
    held = sync.identity_map.get(key)
    if held is not None:  # the session's own, as the ORM's read gives it
        unloaded = instance_state(held).unloaded
        for attribute, value in zip(shape.attributes, values, strict=True):
            if attribute in unloaded:  # expired: filled from the row
                set_committed_value(held, attribute, value)
        return held
    made = shape.mapper.class_manager.new_instance()
    made.__dict__.update(zip(shape.attributes, values, strict=True))
    make_transient_to_detached(made)  # unchanged, its key set: as if loaded
    sync.add(made)
    return made


def _shapes(statement: Executable) -> tuple[_Shape, ...]:
    kept = _SHAPES.get(id(statement))
    if kept is not None and kept[0] is statement:
        return kept[1]
    if not isinstance(statement, Select):
        raise ValueError(_REFUSED)
    columns = list(statement.selected_columns)
    shapes: list[_Shape] = []
    start = 0
    for entry in statement.column_descriptions:
        mapper = inspect(entry.get("entity"), raiseerr=False)
        if not isinstance(mapper, Mapper) or entry.get("expr") is not entry.get("entity"):
            raise ValueError(_REFUSED)
        wanted = {prop.key for prop in mapper.column_attrs}
        own = columns[start : start + len(wanted)]
        try:
            attributes = tuple(mapper.get_property_by_column(column).key for column in own)
        except UnmappedColumnError:  # a column of another model (some of this one's missing)
            raise ValueError(_REFUSED) from None
        if set(attributes) != wanted:
            raise ValueError(_REFUSED)
        primary = tuple(
            attributes.index(mapper.get_property_by_column(column).key)
            for column in mapper.primary_key
        )
        shapes.append(_Shape(mapper, start, attributes, primary))
        start += len(wanted)
    if not shapes or start != len(columns):
        raise ValueError(_REFUSED)
    if len(_SHAPES) >= 256:  # statements built per call: not kept
        _SHAPES.clear()
    _SHAPES[id(statement)] = (statement, tuple(shapes))
    return tuple(shapes)

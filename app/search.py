"""Full-text search: one small interface over the engine's own full-text index (SQLite FTS5,
PostgreSQL tsvector + GIN), kept in step in the same transaction as the rows it indexes.

The index holds *documents*: a message's text, a conversation's subject, a contact's name,
e-mail address and X handle, each folded (``app.textnorm.fold``) so that every backend compares
the same text as keyword rules and the answer picker do. A document's id packs its kind and its
row: ``row id * 8 + kind``; ``ref`` is the conversation (messages, subjects) or the contact.
Messages and notes live in one table, the other documents in another (``meta_table``): message
ids grow with time, so a query reads message hits newest first and stops early
(``app.search_results``), and the few subject and visitor hits are read whole beside them.

Mapper events write the documents through the flush's own connection, so every path that
stores a message, a subject or a contact through the ORM (ingest, replies, notes, automatic
replies, corrections, erasure) is indexed or purged in its transaction — rolled back with it.
One exception, on SQLite: a *new* message's document is written after its transaction, with
others, by :mod:`app.search_backlog` (:func:`indexed_later`); a search catches up first.
Bulk ``update()``/``delete()`` statements bypass mapper events: none of them touches an indexed
column today (``app.sending`` changes a reply's delivery status only); a new one must call
:func:`reindex_messages`.
"""

from __future__ import annotations

import enum
import re
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Executable, Select, event, inspect, text
from sqlalchemy.orm import Mapper, PassiveFlag
from sqlalchemy.orm.attributes import get_history

from app.models import ERASED, Contact, Conversation, Message
from app.textnorm import fold

MAX_QUERY = 200  # characters of a query: more is refused (422), not cut silently
MAX_WORDS = 8  # words of a query: each one is a posting list to intersect
# Words as the FTS5 unicode61 tokenizer cuts them: letters, digits, private-use characters.
_WORD = re.compile(r"[^\W_]+")


class Kind(enum.IntEnum):
    MESSAGE = 0
    SUBJECT = 1
    NAME = 2
    EMAIL = 3
    HANDLE = 4


def doc_id(kind: Kind, row_id: int) -> int:
    return row_id * 8 + kind


class QueryError(ValueError):
    """A query that cannot be searched; ``code`` is its catalog key."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def words(query: str) -> list[str]:
    """The folded words of a user's query: anything the index could hold, nothing else — quotes,
    operators, column filters and control characters only separate words. QueryError when the
    query is too long or has too many words."""
    if len(query) > MAX_QUERY:
        raise QueryError("error.search_too_long", max=MAX_QUERY)
    found = _WORD.findall(fold(query.replace("\x00", " ")))
    if len(found) > MAX_WORDS:
        raise QueryError("error.search_too_many_words", max=MAX_WORDS)
    return found


class Backend(Protocol):
    """What a database gives search: its index's life cycle, its writes, its one query."""

    table: str  # messages and notes, ids growing with time
    meta_table: str  # subjects and visitors: few, read whole
    # Where one is, messages are indexed after their transaction (app.search_backlog).
    mark_table: str | None

    def create(self, connection: Connection) -> None: ...
    def drop(self, connection: Connection) -> None: ...
    def create_mark(self, connection: Connection) -> None:
        """Makes the mark, at the newest message (where :attr:`mark_table` is one)."""
        ...

    def lower_mark(self, connection: Connection) -> None:
        """Messages were deleted: the mark no higher than the newest one left."""
        ...

    def put(self, connection: Connection, docs: Sequence[tuple[int, int, str]]) -> None: ...
    def remove(self, connection: Connection, ids: Sequence[int]) -> None: ...
    def put_one(self, doc: tuple[int, int, str]) -> tuple[Executable, dict[str, Any]]:
        """The statement writing one document, and its parameters (:meth:`put` of one, run
        by its caller on a connection of its own choosing)."""
        ...

    def hits(self, words: Sequence[str]) -> Select[Any]:
        """The documents holding every word (the last one as a prefix): ``(doc, ref)``."""
        ...

    def message_hits(self, words: Sequence[str]) -> Select[Any]:
        """The message and note documents among :meth:`hits`."""
        ...

    def meta_hits(self, words: Sequence[str]) -> Select[Any]:
        """The subject and visitor documents among :meth:`hits`."""
        ...

    def newest(self, words: Sequence[str], before: int | None, limit: int) -> Select[Any]:
        """At most ``limit`` message hits below the document ``before``, newest first."""
        ...

    def among(self, words: Sequence[str], ids: Sequence[int]) -> Select[Any]:
        """The message hits whose documents are in ``ids``."""
        ...

    def bodies(self, ids: Sequence[int], meta: bool = False) -> Select[Any]:
        """``(doc, ref, body)`` of the documents ``ids`` (messages, or ``meta`` ones): their
        stored folded words."""
        ...


def backend(dialect: str) -> Backend:
    if dialect == "postgresql":
        from app.search_postgres import PostgresBackend

        return PostgresBackend()
    from app.search_sqlite import SqliteBackend

    return SqliteBackend()


def owned_table(name: str) -> bool:
    """The index's own tables (FTS5 adds shadow tables): not models, left out of schema diffs."""
    return name.startswith("search_")


# --- keeping the index in step -----------------------------------------------------------

# Engines whose database has the index. A database made before it (migrated later, or a test's
# old schema) gets no writes until its migration made the index and backfilled it.
_ready: weakref.WeakSet[Engine] = weakref.WeakSet()
# Those among them whose messages are indexed after their transaction (app.search_backlog).
_later: weakref.WeakSet[Engine] = weakref.WeakSet()


def _has_index(connection: Connection) -> bool:
    engine = connection.engine
    if engine in _ready:
        return True
    names = inspect(connection).get_table_names()
    index = backend(connection.dialect.name)
    # The table of subjects and visitors came last (migration 0009): both are there with it.
    if index.meta_table in names:
        _ready.add(engine)
        if index.mark_table in names:
            _later.add(engine)
        return True
    return False


def indexed_later(connection: Connection) -> bool:
    """Whether the messages stored on this database are indexed after their transaction, in
    batches, by :mod:`app.search_backlog` — on SQLite, where a full-text write in each chat
    message's transaction made FTS5 merge its many small segments over and over."""
    return _has_index(connection) and connection.engine in _later


def forget(connection: Connection, *, mark_only: bool = False) -> None:
    """The index (or only its mark: a downgrade past it) was dropped: stop relying on it."""
    _later.discard(connection.engine)
    if not mark_only:
        _ready.discard(connection.engine)


def create(connection: Connection) -> None:
    """Makes the index, empty (a fresh database, ``app.db.create_tables``)."""
    backend(connection.dialect.name).create(connection)
    _ready.add(connection.engine)


def create_mark(connection: Connection) -> None:
    """From now on, where the engine has one, messages are indexed later: the mark is made at
    the newest message stored (a fresh database, migration 0015)."""
    index = backend(connection.dialect.name)
    if index.mark_table:
        index.create_mark(connection)
        _later.add(connection.engine)


def indexed(text: str) -> str:
    """What a document stores: its folded words, one space apart — the words a query is cut
    into, so every engine's parser sees the same (PostgreSQL's would keep "a@b.org" whole)."""
    return " ".join(_WORD.findall(fold(text)))


def message_docs(rows: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Documents of ``(message id, conversation id, text)`` rows; an empty text has none."""
    return [(doc_id(Kind.MESSAGE, m), c, indexed(t)) for m, c, t in rows if t]


def conversation_docs(conversation_id: int, subject: str) -> list[tuple[int, int, str]]:
    return (
        [(doc_id(Kind.SUBJECT, conversation_id), conversation_id, indexed(subject))]
        if subject
        else []
    )


def contact_docs(contact: Contact | Any) -> list[tuple[int, int, str]]:
    """A contact's name, e-mail address (its own field, else an e-mail contact's id) and handle;
    none once erased."""
    if contact.external_id.startswith(ERASED):
        return []
    email = contact.email or (contact.external_id if contact.channel == "email" else "")
    fields = ((Kind.NAME, contact.name), (Kind.EMAIL, email), (Kind.HANDLE, contact.handle))
    row = int(contact.id or 0)
    return [(doc_id(kind, row), row, indexed(v)) for kind, v in fields if v]


def reindex_messages(connection: Connection, rows: Sequence[tuple[int, int, str]]) -> None:
    """Re-indexes ``(message id, conversation id, text)`` rows changed without the ORM."""
    if not _has_index(connection):
        return
    index = backend(connection.dialect.name)
    index.remove(connection, [doc_id(Kind.MESSAGE, m) for m, _, _ in rows])
    index.put(connection, message_docs(rows))


def index_messages(connection: Connection, rows: Sequence[tuple[int, int, str]]) -> None:
    """Indexes ``(message id, conversation id, text)`` rows just inserted without the ORM
    (``app.message_insert``), as its hook indexes those it inserts."""
    if not indexed_later(connection):
        _add(connection, message_docs(rows))


def message_write(
    engine: Engine, message_id: int, conversation_id: int, body: str
) -> tuple[Executable, dict[str, Any]] | None:
    """The statement indexing a message just inserted without the ORM, and its parameters,
    for its caller to run in the message's transaction (``app.message_insert``); None when
    the text makes no document, or when the engine's index is not known to be there yet —
    :func:`index_messages` then looks."""
    docs = message_docs([(message_id, conversation_id, body)])
    if not docs or engine not in _ready:
        return None
    return backend(engine.dialect.name).put_one(docs[0])


def known_later(engine: Engine) -> bool:
    """Whether ``engine``'s messages are known to be indexed later (:func:`indexed_later`),
    without a look at the database: its writers then leave them to :mod:`app.search_backlog`."""
    return engine in _later


def _changed(target: Any, *names: str) -> bool:
    # ``get_history`` rather than ``inspect(target).attrs[n].history``, which reads the same
    # but first builds a view of every attribute, kept on the object's state: a reference cycle
    # per row updated, left for the garbage collector, whose pauses the chat's tail then shows.
    return any(
        get_history(target, n, PassiveFlag.PASSIVE_NO_INITIALIZE).has_changes() for n in names
    )


def _replace(
    connection: Connection, ids: Sequence[int], docs: Sequence[tuple[int, int, str]]
) -> None:
    if not _has_index(connection):
        return
    index = backend(connection.dialect.name)
    index.remove(connection, ids)
    index.put(connection, docs)


def _add(connection: Connection, docs: Sequence[tuple[int, int, str]]) -> None:
    """The documents of a row just inserted: none can be there yet (rows are never deleted in
    bulk, and a deleted row's documents go with it), so nothing is removed first."""
    if docs and _has_index(connection):
        backend(connection.dialect.name).put(connection, docs)


def _message_docs(target: Message) -> list[tuple[int, int, str]]:
    assert target.id is not None
    return message_docs([(target.id, target.conversation_id, target.text)])


def _on_message(_mapper: Mapper[Any], connection: Connection, target: Message) -> None:
    if not indexed_later(connection):
        _add(connection, _message_docs(target))


def _on_message_update(_mapper: Mapper[Any], connection: Connection, target: Message) -> None:
    if _changed(target, "text", "conversation_id"):
        _replace(connection, [doc_id(Kind.MESSAGE, target.id or 0)], _message_docs(target))


def _on_message_delete(_mapper: Mapper[Any], connection: Connection, target: Message) -> None:
    _replace(connection, [doc_id(Kind.MESSAGE, target.id or 0)], [])
    if indexed_later(connection):
        # SQLite gives the newest row's id again once it is deleted: a later message with it
        # must not pass for one already indexed.
        backend(connection.dialect.name).lower_mark(connection)


def _on_conversation(_mapper: Mapper[Any], connection: Connection, target: Conversation) -> None:
    assert target.id is not None
    _add(connection, conversation_docs(target.id, target.subject))


def _on_conversation_update(
    _mapper: Mapper[Any], connection: Connection, target: Conversation
) -> None:
    if _changed(target, "subject"):
        assert target.id is not None
        docs = conversation_docs(target.id, target.subject)
        _replace(connection, [doc_id(Kind.SUBJECT, target.id)], docs)


def _on_conversation_delete(
    _mapper: Mapper[Any], connection: Connection, target: Conversation
) -> None:
    _replace(connection, [doc_id(Kind.SUBJECT, target.id or 0)], [])


def _contact_ids(contact_id: int) -> list[int]:
    return [doc_id(k, contact_id) for k in (Kind.NAME, Kind.EMAIL, Kind.HANDLE)]


def _on_contact(_mapper: Mapper[Any], connection: Connection, target: Contact) -> None:
    _add(connection, contact_docs(target))


def _on_contact_update(_mapper: Mapper[Any], connection: Connection, target: Contact) -> None:
    if _changed(target, "name", "email", "handle", "external_id"):
        assert target.id is not None
        _replace(connection, _contact_ids(target.id), contact_docs(target))


def _on_contact_delete(_mapper: Mapper[Any], connection: Connection, target: Contact) -> None:
    _replace(connection, _contact_ids(target.id or 0), [])


event.listen(Message, "after_insert", _on_message)
event.listen(Message, "after_update", _on_message_update)
event.listen(Message, "after_delete", _on_message_delete)
event.listen(Conversation, "after_insert", _on_conversation)
event.listen(Conversation, "after_update", _on_conversation_update)
event.listen(Conversation, "after_delete", _on_conversation_delete)
event.listen(Contact, "after_insert", _on_contact)
event.listen(Contact, "after_update", _on_contact_update)
event.listen(Contact, "after_delete", _on_contact_delete)


def backfill(connection: Connection, batch: int = 5000) -> None:
    """Indexes every stored message, subject and contact (a migration, after ``create``)."""
    index = backend(connection.dialect.name)
    last = 0
    while True:
        rows = connection.execute(
            text(
                "SELECT id, conversation_id, text FROM message"
                " WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": batch},
        ).all()
        if not rows:
            break
        index.put(connection, message_docs((int(m), int(c), str(t)) for m, c, t in rows))
        last = int(rows[-1][0])
    subjects = connection.exec_driver_sql(
        "SELECT id, subject FROM conversation WHERE subject <> ''"
    ).all()
    index.put(connection, [d for i, s in subjects for d in conversation_docs(int(i), str(s))])
    contacts = connection.exec_driver_sql(
        "SELECT id, channel, external_id, name, email, handle FROM contact"
    ).all()
    index.put(connection, [d for row in contacts for d in contact_docs(row)])

"""The search index on PostgreSQL: tables of folded text with a generated ``tsvector``
('simple' configuration: the text is already folded, no stemming) and a GIN index — messages
and notes in one, subjects and visitors in another (as on SQLite, see app.search_sqlite)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Executable,
    Select,
    TableClause,
    column,
    func,
    literal,
    select,
    table,
    union_all,
)
from sqlalchemy.dialects.postgresql import REGCONFIG

TABLE = "search_doc"  # messages and notes: id = message id * 8
META_TABLE = "search_meta"  # subjects, names, e-mail addresses, handles


def _table(name: str) -> TableClause:
    return table(name, column("id"), column("ref"), column("body"), column("tsv"))


_docs, _meta = _table(TABLE), _table(META_TABLE)
_PUT_ONE = {True: _docs.insert(), False: _meta.insert()}  # a message's document, or another's


def tsquery(words: Sequence[str]) -> str:
    """Every word quoted as a lexeme, all required, the last one a prefix."""
    quoted = ["'" + w.replace("'", "''").replace("\\", "\\\\") + "'" for w in words]
    quoted[-1] += ":*"
    return " & ".join(quoted)


class PostgresBackend:
    table = TABLE
    meta_table = META_TABLE
    # Messages are indexed in their own transaction: the GIN index's pending list already
    # gathers new entries and merges them in bulk.
    mark_table: str | None = None

    def create(self, connection: Connection) -> None:
        for name in (TABLE, META_TABLE):
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {name} (id BIGINT PRIMARY KEY, ref INTEGER NOT NULL,"
                " body TEXT NOT NULL, tsv TSVECTOR GENERATED ALWAYS AS"
                " (to_tsvector('simple'::regconfig, body)) STORED)"
            )
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {name}_tsv ON {name} USING GIN (tsv)"
            )

    def drop(self, connection: Connection) -> None:
        for name in (TABLE, META_TABLE):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")

    def create_mark(self, connection: Connection) -> None:
        pass  # no mark: messages are indexed in their own transaction

    def lower_mark(self, connection: Connection) -> None:
        pass

    def put(self, connection: Connection, docs: Sequence[tuple[int, int, str]]) -> None:
        for into, kind0 in ((_docs, True), (_meta, False)):
            part = [{"id": d, "ref": r, "body": b} for d, r, b in docs if (d % 8 == 0) == kind0]
            if part:
                connection.execute(into.insert(), part)

    def put_one(self, doc: tuple[int, int, str]) -> tuple[Executable, dict[str, Any]]:
        doc_id, ref, body = doc
        return _PUT_ONE[doc_id % 8 == 0], {"id": doc_id, "ref": ref, "body": body}

    def remove(self, connection: Connection, ids: Sequence[int]) -> None:
        for into, kind0 in ((_docs, True), (_meta, False)):
            part = [i for i in ids if (i % 8 == 0) == kind0]
            if part:
                connection.execute(into.delete().where(into.c.id.in_(part)))

    def _hits(self, into: TableClause, words: Sequence[str]) -> Select[Any]:
        query = func.to_tsquery(literal("simple").cast(REGCONFIG), tsquery(words))
        return select(into.c.id.label("doc"), into.c.ref.label("ref")).where(
            into.c.tsv.op("@@")(query)
        )

    def message_hits(self, words: Sequence[str]) -> Select[Any]:
        return self._hits(_docs, words)

    def meta_hits(self, words: Sequence[str]) -> Select[Any]:
        return self._hits(_meta, words)

    def newest(self, words: Sequence[str], before: int | None, limit: int) -> Select[Any]:
        """Message hits newest first, below ``before`` (the planner picks the GIN bitmap and a
        top-N sort, or the primary key backwards, by the word's frequency)."""
        query = self.message_hits(words)
        if before is not None:
            query = query.where(_docs.c.id < before)
        return query.order_by(_docs.c.id.desc()).limit(limit)

    def among(self, words: Sequence[str], ids: Sequence[int]) -> Select[Any]:
        return self.message_hits(words).where(_docs.c.id.in_(list(ids)))

    def bodies(self, ids: Sequence[int], meta: bool = False) -> Select[Any]:
        """The stored folded text of the documents ``ids``."""
        into = _meta if meta else _docs
        return select(into.c.id.label("doc"), into.c.ref, into.c.body).where(
            into.c.id.in_(list(ids))
        )

    def hits(self, words: Sequence[str]) -> Select[Any]:
        both = union_all(self.message_hits(words), self.meta_hits(words)).subquery()
        return select(both.c.doc, both.c.ref)

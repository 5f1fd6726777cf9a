"""The search index on PostgreSQL: a table of folded text with a generated ``tsvector``
('simple' configuration: the text is already folded, no stemming) and a GIN index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, column, func, literal, select, table
from sqlalchemy.dialects.postgresql import REGCONFIG

TABLE = "search_doc"
_docs = table(TABLE, column("id"), column("ref"), column("body"), column("tsv"))


def tsquery(words: Sequence[str]) -> str:
    """Every word quoted as a lexeme, all required, the last one a prefix."""
    quoted = ["'" + w.replace("'", "''").replace("\\", "\\\\") + "'" for w in words]
    quoted[-1] += ":*"
    return " & ".join(quoted)


class PostgresBackend:
    table = TABLE

    def create(self, connection: Connection) -> None:
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT PRIMARY KEY, ref INTEGER NOT NULL,"
            " body TEXT NOT NULL, tsv TSVECTOR GENERATED ALWAYS AS"
            " (to_tsvector('simple'::regconfig, body)) STORED)"
        )
        connection.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {TABLE}_tsv ON {TABLE} USING GIN (tsv)"
        )

    def drop(self, connection: Connection) -> None:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")

    def put(self, connection: Connection, docs: Sequence[tuple[int, int, str]]) -> None:
        if docs:
            connection.execute(_docs.insert(), [{"id": d, "ref": r, "body": b} for d, r, b in docs])

    def remove(self, connection: Connection, ids: Sequence[int]) -> None:
        if ids:
            connection.execute(_docs.delete().where(_docs.c.id.in_(list(ids))))

    def hits(self, words: Sequence[str]) -> Select[Any]:
        query = func.to_tsquery(literal("simple").cast(REGCONFIG), tsquery(words))
        return select(_docs.c.id.label("doc"), _docs.c.ref.label("ref")).where(
            _docs.c.tsv.op("@@")(query)
        )

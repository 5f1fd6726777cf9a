"""The search index on SQLite: an FTS5 table of folded text (see app.search)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection, Select, column, literal_column, select, table

TABLE = "search_fts"
_fts = table(TABLE, column("rowid"), column("ref"), column("body"))


def match_expression(words: Sequence[str]) -> str:
    """Every word quoted (so nothing in it is FTS5 syntax), all required, the last one a prefix
    — the word being typed. Words come from app.search.words: letters and digits only."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class SqliteBackend:
    table = TABLE

    def create(self, connection: Connection) -> None:
        # The text is folded before it is stored, so the tokenizer's own diacritics removal only
        # repeats it; prefix indexes of 2 and 3 characters keep "ch…" and "cha…" quick.
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
            "body, ref UNINDEXED, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
        )

    def drop(self, connection: Connection) -> None:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")

    def put(self, connection: Connection, docs: Sequence[tuple[int, int, str]]) -> None:
        if docs:
            connection.exec_driver_sql(
                f"INSERT INTO {TABLE} (rowid, ref, body) VALUES (?, ?, ?)",  # noqa: S608 (a constant name)
                list(docs),
            )

    def remove(self, connection: Connection, ids: Sequence[int]) -> None:
        if ids:
            connection.exec_driver_sql(
                f"DELETE FROM {TABLE} WHERE rowid = ?",  # noqa: S608 (a constant name)
                [(i,) for i in ids],
            )

    def hits(self, words: Sequence[str]) -> Select[Any]:
        query: Select[Any] = cast(
            Select[Any],
            select(literal_column("rowid").label("doc"), literal_column("ref").label("ref"))
            .select_from(_fts)
            .where(literal_column(TABLE).op("MATCH")(match_expression(words))),
        )
        return query

"""Who sees which published product: enforced in SQLite, below ADQL, on every TAP query connection.

Published products share ``ivoa.obscore`` with the observations (a hidden ``_pub`` column names their
publication, NULL for observations) and fill the ``provenance.*`` tables (every row with its ``_pub``).
A product is visible to anonymous callers when its publication is public, and to a token's user when it
is public or theirs.

How that holds whatever the query (:func:`prepare`, called by
:class:`portal.archive.store.QueryConnection` before it turns read-only):

- **Shadowing temp views.** The connection creates, in its own ``temp`` schema, one view per protected
  table with the same name (``temp."ivoa.obscore"``, ``temp."provenance.entity"``, ...). SQLite resolves
  an unqualified name in ``temp`` first, so every statement on the connection that names the table —
  the translated ADQL, the cost check's counts, a subquery, a join, a CTE — reads the view, which keeps
  the observations and the rows of the publications the caller may see:
  ``"_pub" IN (SELECT id FROM product_publication WHERE public = 1 OR owner = portal_viewer())``.
- **The viewer is not part of the query.** ``portal_viewer()`` returns the user the service set on the
  connection for this query (:attr:`Viewer.user`), never anything the query says.
- **The authorizer refuses every other way in** (:func:`authorizer`). A read of a protected table in
  ``main`` (or of ``product_publication``) is allowed only when SQLite reports the shadowing view as the
  reader; ``portal_viewer()`` may be called only from those views. So even SQL that names
  ``main."ivoa.obscore"`` directly, which the translator never writes, is refused.
"""

from __future__ import annotations

import sqlite3

from portal.archive.schema import OBSCORE, PROVENANCE_TABLES

__all__ = ["PROTECTED", "PUBLICATION_TABLE", "Viewer", "authorizer", "prepare"]

PUBLICATION_TABLE = "product_publication"
PROTECTED = {t.qualified for t in (OBSCORE, *PROVENANCE_TABLES)}
VIEWER_FUNCTION = "portal_viewer"
_VISIBLE = (f'"_pub" IN (SELECT "id" FROM main."{PUBLICATION_TABLE}" '
            f'WHERE "public" = 1 OR "owner" = {VIEWER_FUNCTION}())')


class Viewer:
    """The caller of the query running on a connection: a user name, or None for anonymous."""

    def __init__(self) -> None:
        self.user: str | None = None


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f'PRAGMA main.table_info("{table}")')}


def prepare(conn: sqlite3.Connection, viewer: Viewer) -> None:
    """Register ``portal_viewer()`` and create the shadowing views (before the connection is made
    read-only). An archive without publications yet (an older file opened read-only) gets views that
    show its observations, and empty provenance tables."""
    conn.create_function(VIEWER_FUNCTION, 0, lambda: viewer.user)
    has_publications = bool(_columns(conn, PUBLICATION_TABLE))
    for table in (OBSCORE, *PROVENANCE_TABLES):
        stored = _columns(conn, table.qualified)
        if table is OBSCORE:
            where = f'"_pub" IS NULL OR {_VISIBLE}' if "_pub" in stored and has_publications else "1"
            body = f'SELECT * FROM main."{table.qualified}" WHERE {where}'
        elif "_pub" in stored and has_publications:
            body = f'SELECT * FROM main."{table.qualified}" WHERE {_VISIBLE}'
        else:
            body = "SELECT " + ", ".join(f'NULL AS "{c.name}"' for c in table.columns) + " WHERE 0"
        conn.execute(f'CREATE TEMP VIEW IF NOT EXISTS "{table.qualified}" AS {body}')


def authorizer(inner):
    """Wrap the query authorizer: protected tables are read only through their shadowing views."""
    def check(action, arg1, arg2, dbname, source):
        # SQLite names no database for a table read without a column (count(*)) when the query did
        # not qualify it: an unqualified protected name is the temp view, product_publication never is
        if action == sqlite3.SQLITE_READ and source not in PROTECTED and (
                arg1 == PUBLICATION_TABLE or (arg1 in PROTECTED and dbname == "main")):
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == VIEWER_FUNCTION:
            return sqlite3.SQLITE_OK if source in PROTECTED else sqlite3.SQLITE_DENY
        return inner(action, arg1, arg2, dbname, source)

    return check

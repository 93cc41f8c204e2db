"""What the translator may query: published tables (from TAP_SCHEMA metadata) and uploads."""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.archive.adql import ast
from portal.archive.adql.parser import AdqlError
from portal.archive.schema import PUBLISHED_TABLES, ColumnDef, TableDef


@dataclass
class CatalogTable:
    """A table visible to ADQL: its name, its columns and how to reach them in SQLite."""

    schema: str
    name: str
    sql_name: str  # how SQLite names it (already quoted)
    columns: list[tuple[ColumnDef, str]]  # (metadata, SQL template with {t} for the alias)
    table: TableDef | None = None  # for spatial indexes; None for uploads

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Catalog:
    tables: list[CatalogTable] = field(default_factory=list)

    @classmethod
    def published(cls, uploads: list[CatalogTable] | None = None) -> "Catalog":
        tables = [CatalogTable(t.schema, t.name, t.sql_name, [(c, _column_sql(c)) for c in t.columns], t)
                  for t in PUBLISHED_TABLES]
        return cls(tables + list(uploads or []))

    def find(self, parts: list[ast.Ident], pos: ast.Pos) -> CatalogTable:
        if len(parts) > 3:
            raise AdqlError(f"table name {'.'.join(map(str, parts))} has too many parts", pos)
        name = parts[-1]
        schema = parts[-2] if len(parts) >= 2 else None
        found = [t for t in self.tables
                 if name.matches(t.name) and (schema is None or schema.matches(t.schema))]
        if len(found) == 1:
            return found[0]
        shown = ".".join(map(str, parts))
        if len(found) > 1:
            choices = ", ".join(t.qualified for t in found)
            raise AdqlError(f"table name {shown} is ambiguous: qualify it ({choices})", pos)
        known = ", ".join(t.qualified for t in self.tables)
        raise AdqlError(f"unknown table {shown}; the tables are: {known}", pos)


def _column_sql(column: ColumnDef) -> str:
    return column.sql or '{t}."' + column.name + '"'

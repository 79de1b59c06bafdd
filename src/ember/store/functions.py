"""Functions, their published versions, aliases and provisioned concurrency
settings, as documents keyed by name. The control layer owns their meaning."""

import json
from pathlib import Path

from ember.store.database import open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (name, alias)
);
CREATE TABLE IF NOT EXISTS provisioned_concurrency (
    name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (name, qualifier)
);
"""

# table -> its key column after name
_KEYED = {"versions": "version", "aliases": "alias", "provisioned_concurrency": "qualifier"}


class FunctionRepository:
    def __init__(self, path: Path):
        self._db = open_database(path, SCHEMA)

    def load_all(self) -> list[dict]:
        rows = self._db.execute("SELECT document FROM functions ORDER BY name")
        return [json.loads(document) for (document,) in rows]

    def put(self, name: str, document: dict) -> None:
        self._db.execute(
            "INSERT INTO functions (name, document) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET document = excluded.document",
            (name, json.dumps(document)),
        )

    def delete(self, name: str) -> None:
        """The function and everything that belongs to it."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM functions WHERE name = ?", (name,))
            for table in _KEYED:
                self._db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))

    # versions, aliases and provisioned concurrency: (name, key) -> document

    def load_keyed(self, table: str) -> list[tuple[str, str, dict]]:
        key = _KEYED[table]
        rows = self._db.execute(f"SELECT name, {key}, document FROM {table} ORDER BY name, {key}")
        return [(name, str(item), json.loads(document)) for name, item, document in rows]

    def put_keyed(self, table: str, name: str, item: str, document: dict) -> None:
        key = _KEYED[table]
        self._db.execute(
            f"INSERT INTO {table} (name, {key}, document) VALUES (?, ?, ?) "
            f"ON CONFLICT(name, {key}) DO UPDATE SET document = excluded.document",
            (name, item, json.dumps(document)),
        )

    def delete_keyed(self, table: str, name: str, item: str) -> None:
        self._db.execute(f"DELETE FROM {table} WHERE name = ? AND {_KEYED[table]} = ?", (name, item))

    def close(self) -> None:
        self._db.close()

"""Function documents, keyed by name. The control layer owns their meaning."""

import json
from pathlib import Path

from ember.store.database import open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
"""


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
        self._db.execute("DELETE FROM functions WHERE name = ?", (name,))

    def close(self) -> None:
        self._db.close()

"""Layer versions, as documents keyed by layer name and version number."""

import json
from pathlib import Path

from ember.store.database import open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS layer_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS layer_counters (
    name TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL
);
"""


class LayerRepository:
    def __init__(self, path: Path):
        self._db = open_database(path, SCHEMA)

    def load_all(self) -> list[dict]:
        rows = self._db.execute("SELECT document FROM layer_versions ORDER BY name, version")
        return [json.loads(document) for (document,) in rows]

    def last_versions(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT name, last_version FROM layer_counters"))

    def add(self, name: str, version: int, document: dict) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO layer_versions (name, version, document) VALUES (?, ?, ?)",
                (name, version, json.dumps(document)),
            )
            self._db.execute(
                "INSERT INTO layer_counters (name, last_version) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET last_version = excluded.last_version",
                (name, version),
            )

    def delete(self, name: str, version: int) -> None:
        self._db.execute("DELETE FROM layer_versions WHERE name = ? AND version = ?", (name, version))

    def close(self) -> None:
        self._db.close()

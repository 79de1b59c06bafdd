"""Log events, grouped as CloudWatch Logs groups them: group, stream, event."""

from pathlib import Path

from ember.store.database import open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY,
    log_group TEXT NOT NULL,
    log_stream TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    ingestion_time INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events (log_group, id);
"""

# An event as the repository stores it: (group, stream, timestamp ms, ingestion ms, message)
LogEvent = tuple[str, str, int, int, str]


class LogRepository:
    def __init__(self, path: Path):
        self._db = open_database(path, SCHEMA)

    def append(self, events: list[LogEvent]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO log_events (log_group, log_stream, timestamp, ingestion_time, message) "
                "VALUES (?, ?, ?, ?, ?)",
                events,
            )

    def query(
        self,
        group: str,
        after_id: int = 0,
        start_time: int | None = None,
        end_time: int | None = None,
        streams: list[str] | None = None,
        contains: str | None = None,
        limit: int = 10000,
    ) -> list[tuple]:
        """Events of a group in the order they were written: (id, stream, ts, ingestion, message)."""
        sql = [
            "SELECT id, log_stream, timestamp, ingestion_time, message FROM log_events "
            "WHERE log_group = ? AND id > ?"
        ]
        args: list = [group, after_id]
        if start_time is not None:
            sql.append("AND timestamp >= ?")
            args.append(start_time)
        if end_time is not None:
            sql.append("AND timestamp <= ?")
            args.append(end_time)
        if streams:
            sql.append(f"AND log_stream IN ({','.join('?' * len(streams))})")
            args.extend(streams)
        if contains:
            sql.append("AND instr(message, ?) > 0")
            args.append(contains)
        sql.append("ORDER BY id LIMIT ?")
        args.append(limit)
        return self._db.execute(" ".join(sql), args).fetchall()

    def streams(self, group: str) -> list[tuple]:
        """(stream, first event ts, last event ts, last ingestion) per stream of a group."""
        return self._db.execute(
            "SELECT log_stream, MIN(timestamp), MAX(timestamp), MAX(ingestion_time) "
            "FROM log_events WHERE log_group = ? GROUP BY log_stream ORDER BY log_stream",
            (group,),
        ).fetchall()

    def close(self) -> None:
        self._db.close()

"""Persistence: SQLite in WAL mode behind small repositories."""

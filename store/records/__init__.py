"""The record store, the source of truth: the schema and its migrations (SQLAlchemy and Alembic, on SQLite or
PostgreSQL), incidents with their timeline and analysis, action items, the index outbox and what the search indexes
read from it, the key cursor that lets caches read new rows incrementally, and the quick reads of an SQLite home
(`list`, `show`) on the standard library's sqlite3."""

"""The database: engine and sessions, tables, Alembic migrations."""

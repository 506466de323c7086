"""Persistence: the async SQLAlchemy engine, shared column types and Alembic migrations."""

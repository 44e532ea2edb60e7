"""Alembic environment and revisions, applied in code by ``engine.storage.db.migrate``."""

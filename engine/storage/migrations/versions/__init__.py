"""Alembic revisions, one file each; new tables come as new revisions, never edits."""

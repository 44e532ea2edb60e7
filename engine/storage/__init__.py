"""Everything that must survive a restart: SQLAlchemy engine, Alembic migrations, stores.

``db.make_engine(settings)`` opens (and migrates) the database; stores such as
``runner_store.RunnerStore`` take that engine and keep every transaction short.
"""

"""Everything that must survive a restart: SQLAlchemy engine, Alembic migrations, stores.

``db.make_engine(settings)`` opens (and migrates) the database; stores such as
``runner_store.RunnerStore`` take that engine and keep every transaction short.

Owns: models, migrations, one store per aggregate.
May import: ``engine.errors``, ``engine.platform.settings``, ``engine.data``.
"""

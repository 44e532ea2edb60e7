"""Everything that must survive a restart: SQLAlchemy engine, Alembic migrations, stores.

``db.make_engine(settings)`` opens (and migrates) the database; stores such as
``runner_store.RunnerStore`` take that engine and keep every transaction short.

Owns: models, migrations, one store per aggregate.
May import: ``engine.errors`` and ``engine.platform.settings`` only: it is the bottom layer
(stores return plain rows; domain types such as ``BarSeries`` are built above it).
"""

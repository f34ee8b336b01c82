"""Alembic environment: configured from storage.db.alembic_config, no alembic.ini needed."""

from alembic import context

from storage.db import make_engine
from storage.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")


def _ours(name, type_, _parent) -> bool:
    """Autogenerate leaves APScheduler's job table alone (its job store creates it)."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def run() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_name=_ours,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()

"""Persistence: SQLAlchemy 2 models, engine set-up, unit of work, repositories, migrations."""

from storage.db import Database, upgrade
from storage.uow import UnitOfWork

__all__ = ["Database", "UnitOfWork", "upgrade"]

"""Shared fixtures. Tests are grouped by level: unit (workflows, plain Python),
integration (storage on SQLite and PostgreSQL), e2e (the app over HTTP against the sandbox)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("JOURNEYBOT_TEST_POSTGRES_URL")
SHARED = Path(__file__).resolve().parents[2] / "shared"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database URL: a SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journeybot.db'}"
    if not POSTGRES_URL:
        pytest.skip("JOURNEYBOT_TEST_POSTGRES_URL is not set")
    _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'journeybot.db'}"

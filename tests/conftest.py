"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests each get a schema of their own in the `test` database (so parallel runs never
see each other's rows); set PLACEMENTS_TEST_DATABASES=sqlite to run the SQLite half alone.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from workflows import clock

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PG_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASES = [d.strip() for d in os.environ.get("PLACEMENTS_TEST_DATABASES", "sqlite,postgres").split(",") if d.strip()]


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path):
    """A fresh, empty database URL: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def make_app(db_url):
    """Build a migrated app on the test database; extra config can be given."""
    from service import create_app, migrate, processes

    apps = []

    def factory(**config):
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test-secret",
                          "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, **config})
        migrate.upgrade(app.extensions["placements.engine"])
        apps.append(app)
        return app

    processes._cache.clear()
    yield factory
    for app in apps:
        app.extensions["placements.engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def sessions(app):
    return app.extensions["placements.sessions"]

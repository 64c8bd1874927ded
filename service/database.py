"""The app's database: one engine per app, one session per request (closed at teardown)."""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from . import db


def init_app(app: Flask) -> None:
    engine = db.make_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    app.extensions["placements.engine"] = engine
    app.extensions["placements.sessions"] = db.make_session_factory(engine)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()


def session() -> Session:
    """This request's session; views commit explicitly when they change something."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["placements.sessions"]()
    return g.db_session


def engine():
    return current_app.extensions["placements.engine"]


def sessions():
    return current_app.extensions["placements.sessions"]

"""Placements: the Flask app factory (`service.create_app`) and the `flask --app service` CLI."""
from __future__ import annotations

import logging

from flask import Flask
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from . import config as config_module
from . import database
from .extensions import csrf, limiter, login_manager


def create_app(config: dict | None = None) -> Flask:
    """Build the app. Keys in `config` override the environment; TESTING never starts the scheduler."""
    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR))
    app.config.update(config_module.from_environment())
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module._secret_key()
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        config_module.INSTANCE_DIR.mkdir(exist_ok=True)

    app.jinja_loader = ChoiceLoader([
        PackageLoader("service"),
        PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
            "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
        }),
    ])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    from .web import IdConverter, install_request_limits
    app.url_map.converters["int"] = IdConverter  # before any route is added
    database.init_app(app)
    from .scheduler import install_commit_hook
    install_commit_hook(app)  # a save that stores an earlier timer wakes the scheduler
    login_manager.init_app(app)
    install_request_limits(app)  # before CSRF, which reads the body
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_ENABLED", not app.config.get("TESTING"))
    limiter.init_app(app)

    from .web import register_web
    register_web(app)

    from .cli import register_cli
    register_cli(app)

    _quiet_personal_data_in_logs()
    if app.config.get("SCHEDULER_ENABLED") and not app.config.get("TESTING") and app.config.get("START_SCHEDULER"):
        from .scheduler import start_in_app
        start_in_app(app)
    return app


def _quiet_personal_data_in_logs() -> None:
    """Werkzeug logs request lines; our URLs carry ids only, never names, so this is safe to keep."""
    logging.getLogger("werkzeug").setLevel(logging.INFO)

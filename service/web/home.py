"""The start page: signed-in users go to their inbox, everyone else sees how to sign in."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("home", __name__)


@bp.route("/")
def start():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    return render_template("start.html", title=None)


@bp.record_once
def _install(state):
    from .common import init_app
    init_app(state.app)

"""The signed-in user's notifications (reminders, escalations), with mark as read."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from workflows import clock

from .. import database
from ..models import Notification
from .common import PAGE_SIZE, page_number, pagination

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def index():
    db = database.session()
    page = page_number()
    mine = select(Notification).where(Notification.user_id == current_user.id)
    total = db.scalar(select(func.count()).select_from(mine.subquery()))
    items = list(db.scalars(mine.order_by(Notification.read_at.is_not(None), Notification.created_at.desc())
                            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    unread = db.scalar(select(func.count()).where(Notification.user_id == current_user.id,
                                                  Notification.read_at.is_(None)))
    return render_template("notifications/index.html", title="Notifications", items=items, unread=unread,
                           pagination=pagination(page, total, "notifications.index"))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id):
    db = database.session()
    db.execute(update(Notification).where(Notification.id == notification_id,
                                          Notification.user_id == current_user.id,
                                          Notification.read_at.is_(None)).values(read_at=clock.now()))
    db.commit()
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read():
    db = database.session()
    db.execute(update(Notification).where(Notification.user_id == current_user.id,
                                          Notification.read_at.is_(None)).values(read_at=clock.now()))
    db.commit()
    return redirect(url_for("notifications.index"))

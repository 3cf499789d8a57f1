"""Sign-in and sign-out; `/` is the sign-in form, or the signed-in person's home."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for

from services.api.context import db_session
from services.api.security import TooManyFailures, count_failed_authentication
from services.web.session import current_staff, end_session, start_session
from shared.staff import sign_in

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
WRONG = "Nama pengguna atau kata sandi salah, atau akun ini sudah dinonaktifkan."
TOO_MANY = "Terlalu banyak percobaan masuk yang gagal dari alamat ini. Coba lagi dalam {wait} detik."


def _home_of(staff_is_official: bool):
    return redirect(url_for("web.office.inbox" if staff_is_official else "web.post.index"))


@bp.get("/")
def home():
    """The sign-in form, or the signed-in person's home (the inbox or the post's requests)."""
    staff = current_staff()
    if staff is not None:
        return _home_of(staff.is_official)
    return render_template("web/sign_in.html", username="", error=None)


@bp.post("/masuk")
def sign_in_page():
    """Check the username and password; a failure counts against the address's AUTH_FAILURE_LIMIT."""
    username = request.form.get("username", "")[:100]
    user = sign_in(db_session(), username, request.form.get("password", "")[:1000])
    if user is None:
        try:
            count_failed_authentication()
        except TooManyFailures as exc:
            wait = str(exc.retry_after)
            return (render_template("web/sign_in.html", username=username, error=TOO_MANY.format(wait=wait)), 429,
                    {"Retry-After": wait})
        return render_template("web/sign_in.html", username=username, error=WRONG), 401
    start_session(user)
    log.info("staff user %s signed in", user.id)
    return _home_of(user.role == "official")


@bp.post("/keluar")
def sign_out():
    """End the session."""
    end_session()
    return redirect(url_for("web.auth.home"))

"""Who is signed in to the pages: a session cookie naming a staff user, checked again on every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, Request, Response, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from services.api import API_PREFIX
from services.api.context import db_session
from services.web import csrf
from shared.errors import Forbidden
from shared.letters.workflow.states import OFFICIALS_ONLY
from shared.models import Client, Role, StaffUser
from shared.staff import active_user, password_stamp

# Pages load their own stylesheet, script and images only; QR codes are inline SVG.
PAGE_CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Staff:
    """The signed-in person and the client row they act as."""

    user: StaffUser
    client: Client

    @property
    def is_official(self) -> bool:
        return self.user.role == Role.OFFICIAL


def current_staff() -> Staff | None:
    """The signed-in, still enabled user whose password has not changed since; else None (session ended)."""
    if "staff" not in g:
        g.staff = None
        user_id, stamp = session.get("uid"), session.get("stamp")
        if isinstance(user_id, int) and isinstance(stamp, str):
            found = active_user(db_session(), user_id, stamp)
            if found is None:
                session.clear()
            else:
                g.staff = Staff(*found)
    return g.staff


class IdleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, whose idle hours count a person's requests, not a page's polling: the answer
    to a background request (a view marked `background`) renews the cookie only when the session changed.

    The JSON API (/api/) has no session: its callers hold bearer tokens, and a cookie sent along is neither read
    nor renewed (opening it made a signing serializer on every request, 1.5% of a submission's instructions)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if g.get("background_request"):
            return session.modified
        return super().should_set_cookie(app, session)


def background(view: View) -> View:
    """A view that a page's script polls: it does not keep its session alive (IdleSessionInterface), so a page
    left open on an office computer still signs its person out after the idle hours."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.background_request = True
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def start_session(user: StaffUser) -> None:
    """Sign user in: a new session (no state carried over from before), expiring after 8 idle hours."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["stamp"] = password_stamp(user)


def end_session() -> None:
    session.clear()


def signed_in(role: Role | None = None) -> Callable[[View], View]:
    """A view for signed-in staff (of role, if given): others are sent to the sign-in page (403 for a wrong role)."""
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff is None:
                return redirect(url_for("web.auth.home"))
            if role is not None and staff.user.role != role:
                raise Forbidden(OFFICIALS_ONLY if role == Role.OFFICIAL else "Halaman ini untuk pos pelayanan dusun.")
            return view(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def staff() -> Staff:
    """The signed-in person, inside a view guarded by signed_in."""
    found = current_staff()
    assert found is not None, "view not guarded by signed_in"
    return found


def _page_headers(response: Response) -> Response:
    if request.endpoint != "web.static":
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)  # a chart's SVG sets a stricter one
        response.headers["Cache-Control"] = "no-store"  # pages show NIKs and are per person
        response.vary.add("Cookie")
    return response


def protect_forms(bp: Blueprint) -> None:
    """Every POST to a page needs the session's CSRF token; every page gets the pages' headers."""
    @bp.before_request
    def _check_csrf() -> None:
        if request.method == "POST":
            csrf.protect()

    bp.after_request(_page_headers)

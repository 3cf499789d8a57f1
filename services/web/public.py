"""The resident's tracking page: `/s/<code>` from the receipt says processing, ready or rejected, nothing more."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from services.api.context import db_session
from services.api.security import count_unknown_token
from services.web.labels import TRACKING
from shared.letters.workflow.tracking import display_code, find_by_tracking_code, tracking_state

bp = Blueprint("public", __name__)


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"  # the code is in the URL
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/s/<code>")
def tracking(code: str):
    """The letter's state for its resident; an unknown code counts against VERIFY_MISS_LIMIT."""
    letter = find_by_tracking_code(db_session(), code[:40])
    if letter is None or letter.tracking_code is None:
        count_unknown_token()
        return render_template("web/tracking.html", found=False), 404
    state = tracking_state(letter)
    heading, sentence = TRACKING[state.state]
    return render_template("web/tracking.html", found=True, state=state.state, heading=heading, sentence=sentence,
                           reason=state.reason, code=display_code(letter.tracking_code))

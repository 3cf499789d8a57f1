"""Bearer-token authentication and role checks."""

from __future__ import annotations

from flask import g, request

from services.api.context import db_session
from services.api.security import count_failed_authentication
from shared.accounts import authenticate
from shared.errors import Unauthorized
from shared.letters.workflow import states
from shared.models import Client


def current_client() -> Client:
    """The client behind the request's bearer token; 401 when there is none or it is unknown (429 if too often)."""
    if "client" not in g:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        client = authenticate(db_session(), token.strip()) if scheme.lower() == "bearer" and token else None
        if client is None:
            count_failed_authentication()  # 429 instead once the address has failed too often
            raise Unauthorized("Token tidak ada atau tidak berlaku.")
        g.client = client
    return g.client


def require_official() -> Client:
    """The current client, who must be an official (403 for a hamlet post)."""
    return states.require_official(current_client())

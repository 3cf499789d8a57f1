"""Bearer-token authentication and role checks."""

from __future__ import annotations

from flask import g, request

from services.api.context import db_session
from shared.accounts import authenticate
from shared.errors import Forbidden, Unauthorized
from shared.models import Client, Role


def current_client() -> Client:
    """The client behind the request's bearer token; 401 when there is none or it is unknown."""
    if "client" not in g:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        client = authenticate(db_session(), token.strip()) if scheme.lower() == "bearer" and token else None
        if client is None:
            raise Unauthorized("Token tidak ada atau tidak berlaku.")
        g.client = client
    return g.client


def require_official() -> Client:
    """The current client, who must be an official (403 for a hamlet post)."""
    client = current_client()
    if client.role != Role.OFFICIAL:
        raise Forbidden("Hanya petugas desa yang boleh melakukan tindakan ini.")
    return client

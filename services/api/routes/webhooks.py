"""Webhooks: a client registers, lists, enables again and deletes its endpoints, reads their deliveries, and sends one
again."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, jsonify, request, url_for

from services.api.auth import current_client
from services.api.context import db_session, settings
from services.api.payloads import checked_query, json_body
from shared.webhooks import endpoints
from shared.webhooks.views import (
    WebhookDeliveryPage,
    WebhookEndpointList,
    created_view,
    delivery_view,
    endpoint_view,
)

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks")


@bp.before_request
def _authenticate() -> None:
    """Every webhooks route needs a valid token before its input is read (401 first)."""
    current_client()


def _json(model: object, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))  # type: ignore[attr-defined]
    response.status_code = status
    return response


@bp.post("")
def register() -> Response:
    """201 with the endpoint and its signing secret, shown this once; 422 naming `url` or `events`."""
    endpoint = endpoints.register_endpoint(session=db_session(), settings=settings(), client=current_client(),
                                           body=json_body())
    response = _json(created_view(endpoint), 201)
    response.headers["Location"] = url_for("webhooks.deliveries", endpoint_id=endpoint.id)
    return response


@bp.get("")
def index() -> Response:
    """The caller's endpoints (without their secrets)."""
    items = [endpoint_view(e) for e in endpoints.client_endpoints(db_session(), current_client())]
    return _json(WebhookEndpointList(items=items))


@bp.delete("/<uuid:endpoint_id>")
def delete(endpoint_id: uuid.UUID) -> Response:
    """Stop sending to one of the caller's endpoints."""
    endpoints.delete_endpoint(session=db_session(), client=current_client(), endpoint_id=endpoint_id)
    return Response(status=204)


@bp.post("/<uuid:endpoint_id>/enable")
def enable(endpoint_id: uuid.UUID) -> Response:
    """Send to a disabled endpoint again (same URL and secret), from the next event on."""
    endpoint = endpoints.enable_endpoint(session=db_session(), client=current_client(), endpoint_id=endpoint_id)
    return _json(endpoint_view(endpoint))


@bp.get("/<uuid:endpoint_id>/deliveries")
def deliveries(endpoint_id: uuid.UUID) -> Response:
    """The endpoint's newest deliveries with every attempt: time, status code, duration, error."""
    query = checked_query(endpoints.DeliveryQuery, request.args)
    rows = endpoints.endpoint_deliveries(db_session(), current_client(), endpoint_id, limit=query.limit)
    return _json(WebhookDeliveryPage(items=[delivery_view(d, attempts) for d, attempts in rows]))


@bp.post("/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/retry")
def retry(endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> Response:
    """Send a delivery again now; 202, the worker makes the attempt."""
    delivery = endpoints.retry_delivery(session=db_session(), client=current_client(), endpoint_id=endpoint_id,
                                        delivery_id=delivery_id)
    attempts = endpoints.delivery_attempts(db_session(), [delivery.id])[delivery.id]
    return _json(delivery_view(delivery, attempts), 202)

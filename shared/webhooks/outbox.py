"""The outbox: a letter's change becomes deliveries in its own transaction, and they are sent after the commit.

record_event (shared.letters.workflow.events), the one place every status change passes, calls add_deliveries:
the delivery rows commit or roll back with the change itself, so a crash between the commit and the send loses
nothing. After the commit the process hands the new deliveries' ids to its sender (the edge: a task queue), and
resend_due, a sweeper pass, sends again whatever was lost or is due for a retry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, event, exists, insert
from sqlmodel import Session, and_, col, or_, select, update

from shared.db import table
from shared.models import Client, Letter, LetterStatus, Role, as_utc
from shared.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)

# The letter events clients may hear about, and the status each leaves the letter in.
LETTER_EVENTS = {
    "draft_rendered": (WebhookEvent.AWAITING_APPROVAL, LetterStatus.AWAITING_APPROVAL),
    "issued": (WebhookEvent.ISSUED, LetterStatus.ISSUED),
    "rejected": (WebhookEvent.REJECTED, LetterStatus.REJECTED),
    "revoked": (WebhookEvent.REVOKED, LetterStatus.REVOKED),
    "failed": (WebhookEvent.FAILED, LetterStatus.FAILED),
}
NUMBERED = (LetterStatus.ISSUED, LetterStatus.REVOKED)  # before issue a taken number is not the letter's yet
PENDING_KEY = "suratdesa.webhook_deliveries"  # in Session.info: deliveries added in the open transaction


def heard_by_webhooks(event_type: str) -> bool:
    """Whether clients may hear about a letter event of this type (see LETTER_EVENTS)."""
    return event_type in LETTER_EVENTS


class DeliveryRequests(Protocol):
    """Where deliveries are sent for the worker; True when the request went out (it may be lost, and resent)."""

    def deliver(self, delivery_id: uuid.UUID) -> bool: ...


def listening_endpoints(session: Session, letter: Letter, webhook_event: WebhookEvent) -> list[uuid.UUID]:
    """The ids of the live endpoints that hear about this letter: its own post's, and its village's officials'."""
    rows = session.execute(LISTENING_ENDPOINTS, {"village_id": letter.village_id}).all()
    return [endpoint_id for endpoint_id, client_id, events, role in rows
            if webhook_event.value in events and (role == Role.OFFICIAL or client_id == letter.client_id)]


def _listening_endpoints() -> tuple[Any, Any]:
    # Core columns, not entities: the lookup runs on every status change and needs no endpoint's URL or secret.
    # Built once with a bound parameter: building it and its cache key anew cost more CPU than running it.
    endpoints, clients = table(WebhookEndpoint), table(Client)
    live = (endpoints.c.disabled_at.is_(None), endpoints.c.deleted_at.is_(None))
    lookup = (select(endpoints.c.id, endpoints.c.client_id, endpoints.c.events, clients.c.role)
              .join(clients, clients.c.id == endpoints.c.client_id)
              .where(endpoints.c.village_id == bindparam("village_id"), *live, clients.c.revoked_at.is_(None)))
    # One table only: SQLite writes a RETURNING clause's columns, a subquery's too, without their tables' names. An
    # endpoint whose client was revoked so still has the lookup made, which leaves it out.
    any_live = exists().where(endpoints.c.village_id == bindparam("listening_village"), *live).label("listened")
    return lookup, any_live


# LISTENING_ENDPOINTS: the village's live endpoints (bound as village_id). ANY_LISTENING: whether it has any (bound as
# listening_village), as a column for a statement the writer of an event runs anyway (see add_deliveries' listened).
LISTENING_ENDPOINTS, ANY_LISTENING = _listening_endpoints()


def event_payload(letter: Letter, webhook_event: WebhookEvent, status: LetterStatus, at: datetime) -> dict[str, Any]:
    """{type, timestamp, data}: the letter's id, type, status and number; never a NIK, a name or a token.

    The link is added when the body is sent (it names the deployment's public address)."""
    number = letter.number if status in NUMBERED else None
    return {"type": webhook_event.value, "timestamp": as_utc(at).isoformat(),
            "data": {"id": str(letter.id), "type": letter.type, "status": status.value, "number": number}}


def add_deliveries(session: Session, *, letter_id: uuid.UUID, event_type: str, at: datetime,
                   letter: Letter | None = None, listened: bool | None = None) -> list[uuid.UUID]:
    """Write a delivery per listening endpoint for a letter event (the caller commits them with the change).

    letter: the letter as the caller holds it, so it is not read again: only its id, type, village, client and
    number are used, and no status change alters them. listened: ANY_LISTENING for the letter's village, as the
    caller's own statement in this transaction read it; False spares the lookup of endpoints (most villages have
    none), None has it made. The new deliveries' ids."""
    if not heard_by_webhooks(event_type) or listened is False:
        return []
    webhook_event, status = LETTER_EVENTS[event_type]
    if letter is None:
        letter = session.get(Letter, letter_id)
        if letter is None:
            return []
    payload = event_payload(letter, webhook_event, status, at)
    row: dict[str, Any] = {"letter_id": letter_id, "event": webhook_event.value, "payload": payload,
                           "status": DeliveryStatus.PENDING.value, "attempts": 0, "next_attempt_at": at,
                           "enqueued_at": at, "created_at": at}
    deliveries = {uuid.uuid4(): endpoint_id for endpoint_id in listening_endpoints(session, letter, webhook_event)}
    if deliveries:  # written at once, like the event that makes them
        session.exec(insert(table(WebhookDelivery)),
                     params=[{**row, "id": delivery_id, "endpoint_id": endpoint_id}
                             for delivery_id, endpoint_id in deliveries.items()])
    to_send_after_commit(session, deliveries)
    return list(deliveries)


def to_send_after_commit(session: Session, delivery_ids: Iterable[uuid.UUID]) -> None:
    """Have this process's sender send these deliveries once the session's transaction commits."""
    session.info.setdefault(PENDING_KEY, []).extend(delivery_ids)


_sender: Callable[[uuid.UUID], bool] | None = None


def send_after_commit(requests: DeliveryRequests | None) -> None:
    """Where this process sends the deliveries its commits add (the API, the worker and the sweeper set it)."""
    global _sender
    _sender = requests.deliver if requests is not None else None


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    delivery_ids = session.info.pop(PENDING_KEY, None)
    if not delivery_ids or _sender is None:
        return  # without a sender (a command line tool) the sweeper sends them
    for delivery_id in delivery_ids:
        try:
            if not _sender(delivery_id):
                break  # the broker is away: the sweeper sends them later
        except Exception:  # the change is committed whatever happens here; the sweeper sends it later
            log.exception("webhook delivery %s: could not be sent after the commit", delivery_id)
            break


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def resend_due(session: Session, queue: DeliveryRequests, now: datetime, *, lost_after: float, batch: int) -> int:
    """Send the deliveries that are due: a retry whose time came, an attempt whose worker died (its claim ran
    out), and a send lost for lost_after seconds (a worker killed, a broker that lost its messages)."""
    lost = now - timedelta(seconds=lost_after)
    due = or_(and_(col(WebhookDelivery.status) == DeliveryStatus.PENDING.value,
                   col(WebhookDelivery.next_attempt_at) <= now),
              and_(col(WebhookDelivery.status) == DeliveryStatus.SENDING.value,
                   col(WebhookDelivery.next_attempt_at) < now))
    not_sent_since = or_(col(WebhookDelivery.enqueued_at).is_(None),
                         col(WebhookDelivery.enqueued_at) < col(WebhookDelivery.next_attempt_at),
                         col(WebhookDelivery.enqueued_at) < lost)
    query = (select(WebhookDelivery.id).where(due, not_sent_since)
             .order_by(col(WebhookDelivery.next_attempt_at)).limit(batch))
    sent = []
    for delivery_id in session.exec(query).all():
        if not queue.deliver(delivery_id):
            break  # the broker is down: the next pass tries again
        sent.append(delivery_id)
    if sent:
        session.exec(update(WebhookDelivery).where(col(WebhookDelivery.id).in_(sent)).values(enqueued_at=now))
        session.commit()
        log.info("sweeper sent %d webhook delivery(ies)", len(sent))
    return len(sent)

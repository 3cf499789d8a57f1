"""The sweeper: sends again the task of letters left waiting, fails letters out of attempts, forgets old keys.

Nothing is lost when an enqueue fails (the broker was down) or a message vanishes (a worker killed with
its message unacked, a broker restarted without its data): the letter is in the database, in `submitted` or
`approved`, and after `sweep_stuck_after` idle seconds the sweeper sends its task again. A letter whose running
attempt let its lease run out (its worker died mid-step) does not wait that long: every `lease_check_interval`
seconds the sweeper sends its step again at once (shared.letters.workflow.leases). A letter whose attempt still
holds a lease is left alone, however long the step takes. A task already queued does no harm: the tasks act only
when the letter's status still calls for them. Webhook deliveries that are due (a retry, or a send that was lost)
are sent on the same beat as the lease check (shared.webhooks.outbox.resend_due).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, and_, col, delete, or_, select, update

from shared.config import Settings
from shared.db import saved_id, session_scope
from shared.letters.intake.catalog import load_catalog
from shared.letters.workflow.attempts import STOPPED_UNREPORTED, fail_letter
from shared.letters.workflow.leases import abandoned_attempts, end_abandoned_lease, has_lease
from shared.letters.workflow.states import NEXT_STEP, Step, StepRequests
from shared.models import IdempotencyKey, Letter, LetterStatus, Village, utcnow
from shared.villages import approval_required
from shared.webhooks.outbox import DeliveryRequests, resend_due

log = logging.getLogger(__name__)
WAITING = [status.value for status in NEXT_STEP]


@dataclass(frozen=True)
class SweepReport:
    """What one pass did."""

    requeued: int = 0
    failed: int = 0
    keys_purged: int = 0
    webhooks_sent: int = 0


def _idle(now: datetime, seconds: float) -> datetime:
    return now - timedelta(seconds=seconds)


def fail_exhausted(session: Session, settings: Settings, now: datetime) -> int:
    """Fail waiting letters whose attempts are used up and whose last attempt can no longer be running."""
    # a running attempt ends within the hard time limit; only after that is silence final
    cutoff = _idle(now, max(settings.sweep_stuck_after, settings.task_time_limit))
    query = select(Letter).where(col(Letter.status).in_(WAITING), col(Letter.updated_at) < cutoff, ~has_lease(),
                                 col(Letter.attempts) >= settings.letter_max_attempts).limit(settings.sweep_batch)
    failed = 0
    for letter in session.exec(query).all():
        failed += fail_letter(session, letter_id=letter.id, source=LetterStatus(letter.status),
                              error=letter.last_error or STOPPED_UNREPORTED, attempts=letter.attempts)
    return failed


def requeue_stuck(session: Session, settings: Settings, queue: StepRequests, now: datetime) -> int:
    """Send again the task of letters idle in submitted/approved, each at most once per threshold.

    Letters an attempt holds a lease on are not idle: a live one is running, a run-out one is recover_abandoned's.
    """
    cutoff = _idle(now, settings.sweep_stuck_after)
    query = (select(Letter.id, Letter.status)
             .where(col(Letter.status).in_(WAITING), col(Letter.updated_at) < cutoff, ~has_lease(),
                    col(Letter.attempts) < settings.letter_max_attempts,
                    or_(col(Letter.requeued_at).is_(None), col(Letter.requeued_at) < cutoff))
             .order_by(col(Letter.updated_at)).limit(settings.sweep_batch))
    sent = []
    for letter_id, status in session.exec(query).all():
        if not queue.request(NEXT_STEP[LetterStatus(status)], letter_id):
            break  # the broker is down: the next pass tries again
        sent.append(letter_id)
    if sent:
        session.exec(update(Letter).where(col(Letter.id).in_(sent)).values(requeued_at=now))
        session.commit()
        log.info("sweeper sent again the task of %d waiting letter(s)", len(sent))
    return len(sent)


def recover_abandoned(session: Session, settings: Settings, queue: StepRequests, now: datetime) -> SweepReport:
    """Letters whose attempt's lease ran out (its process died): their step sent again at once, or `failed`
    when that was their last attempt."""
    requeued = failed = 0
    for letter in abandoned_attempts(session, WAITING, now, settings.sweep_batch):
        source, last = LetterStatus(letter.status), letter.attempts >= settings.letter_max_attempts
        attempt, holder = letter.lease_attempt, letter.lease_holder  # as read: failing the letter ends its lease
        if last:
            failed += fail_letter(session, letter_id=letter.id, source=source,
                                  error=letter.last_error or STOPPED_UNREPORTED, attempts=letter.attempts)
        elif queue.request(NEXT_STEP[source], letter.id):
            requeued += 1
            session.exec(update(Letter).where(col(Letter.id) == letter.id).values(requeued_at=now))
        else:
            break  # the broker is down: the lease stays run out, and the next check tries again
        log.warning("letter %s: the lease of attempt %s (%s) ran out; %s", letter.id, attempt, holder,
                    "it failed" if last else "its step is sent again")
        end_abandoned_lease(session, letter.id, attempt, now)
        session.commit()
    return SweepReport(requeued=requeued, failed=failed)


def _automatic_pairs(session: Session, settings: Settings) -> list[tuple[int, str]]:
    """(village id, type code) of every type a village issues without an official."""
    catalog = load_catalog(settings.templates_dir)
    return [(saved_id(village), code) for village in session.exec(select(Village)).all()
            for code, letter_type in catalog.types.items()
            if not approval_required(village, code, letter_type.approval)]


def requeue_unapproved_automatic(session: Session, settings: Settings, queue: StepRequests,
                                 now: datetime) -> int:
    """Send again the draft task of letters a crash left in awaiting_approval although no official approves
    their type: the task approves them automatically (and then issues them) when it finds them there."""
    pairs = _automatic_pairs(session, settings)
    if not pairs:
        return 0
    cutoff = _idle(now, settings.sweep_stuck_after)
    query = (select(Letter.id)
             .where(col(Letter.status) == LetterStatus.AWAITING_APPROVAL.value, col(Letter.updated_at) < cutoff,
                    or_(*(and_(col(Letter.village_id) == v, col(Letter.type) == t) for v, t in pairs)),
                    or_(col(Letter.requeued_at).is_(None), col(Letter.requeued_at) < cutoff))
             .limit(settings.sweep_batch))
    sent = [letter_id for letter_id in session.exec(query).all() if queue.request(Step.DRAFT, letter_id)]
    if sent:
        session.exec(update(Letter).where(col(Letter.id).in_(sent)).values(requeued_at=now))
        session.commit()
    return len(sent)


def purge_idempotency_keys(session: Session, settings: Settings, now: datetime) -> int:
    """Forget Idempotency-Keys older than the retention period (72 hours at least)."""
    cutoff = now - timedelta(hours=settings.idempotency_key_hours)
    result = session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < cutoff))
    session.commit()
    return int(result.rowcount)


class SweeperQueue(StepRequests, DeliveryRequests, Protocol):
    """What the sweeper sends: letters' steps and webhook deliveries (shared.queue.TaskQueue)."""


def send_due_webhooks(session: Session, settings: Settings, queue: DeliveryRequests, now: datetime) -> SweepReport:
    """Webhook deliveries due for a retry, or whose send was lost sweep_stuck_after seconds ago."""
    sent = resend_due(session, queue, now, lost_after=settings.sweep_stuck_after, batch=settings.sweep_batch)
    return SweepReport(webhooks_sent=sent)


def frequent_pass(session: Session, settings: Settings, queue: SweeperQueue, now: datetime) -> SweepReport:
    """What runs every lease_check_interval: abandoned attempts recovered, due webhook deliveries sent."""
    recovered = recover_abandoned(session, settings, queue, now)
    return SweepReport(requeued=recovered.requeued, failed=recovered.failed,
                       webhooks_sent=send_due_webhooks(session, settings, queue, now).webhooks_sent)


def sweep(session: Session, settings: Settings, queue: SweeperQueue, now: datetime | None = None) -> SweepReport:
    """One pass: recover abandoned attempts, fail exhausted letters, send again the stuck ones and the webhook
    deliveries due, purge old keys."""
    now = now or utcnow()
    recovered = frequent_pass(session, settings, queue, now)
    failed = recovered.failed + fail_exhausted(session, settings, now)
    requeued = recovered.requeued + requeue_stuck(session, settings, queue, now)
    requeued += requeue_unapproved_automatic(session, settings, queue, now)
    return SweepReport(requeued=requeued, failed=failed, keys_purged=purge_idempotency_keys(session, settings, now),
                       webhooks_sent=recovered.webhooks_sent)


def _checked(settings: Settings, action: Callable[[Session], SweepReport]) -> None:
    try:
        with session_scope(settings) as session:
            report = action(session)
        if report != SweepReport():
            log.info("sweep: %s", report)
    except SQLAlchemyError as exc:
        log.warning("sweep skipped, database unavailable: %s", exc)


def run_sweeper(settings: Settings, queue: SweeperQueue, *, stopping: Callable[[], bool]) -> None:
    """Sweep every sweep_interval seconds, and look for abandoned attempts and due webhook deliveries every
    lease_check_interval seconds, until stopping() says so; an unreachable database is waited out."""
    log.info("sweeper started: every %gs, letters idle %gs, run-out leases every %gs", settings.sweep_interval,
             settings.sweep_stuck_after, settings.lease_check_interval)
    next_sweep = time.monotonic()
    while not stopping():
        if time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + settings.sweep_interval
            _checked(settings, lambda session: sweep(session, settings, queue))
        else:
            _checked(settings, lambda session: frequent_pass(session, settings, queue, utcnow()))
        deadline = time.monotonic() + min(settings.lease_check_interval, settings.sweep_interval)
        while not stopping() and time.monotonic() < deadline:
            time.sleep(0.1)

"""Celery tasks: receive a letter id, re-read the row, and let the workflow act if the status calls for it."""

from __future__ import annotations

import logging
import uuid
from functools import cache

from celery import shared_task

from shared.config import Settings, get_settings
from shared.db import session_scope
from shared.letters.workflow import attempts, issuing, lifecycle
from shared.models import LetterStatus
from shared.queue import (
    DELIVER_WEBHOOK,
    ISSUE_LETTER,
    RENDER_DRAFT,
    RETRY_BACKOFF_MAX,
    TASK_MAX_RETRIES,
    TRANSIENT_ERRORS,
)
from shared.webhooks import delivery

log = logging.getLogger(__name__)

# The database or the broker away for a while: retry with exponential backoff and full jitter. A letter's
# own errors are counted on the letter instead (shared.letters.workflow.attempts), up to letter_max_attempts.
RETRIES = {"autoretry_for": TRANSIENT_ERRORS, "retry_backoff": True, "retry_backoff_max": RETRY_BACKOFF_MAX,
           "retry_jitter": True, "max_retries": TASK_MAX_RETRIES}


def _outcome(result: object, done: str) -> str:
    return done if result else ("nothing to do" if result is False else "attempt failed")


@cache
def worker_settings() -> Settings:
    """The settings of this worker process, read once."""
    return get_settings()


@shared_task(name=RENDER_DRAFT, bind=True, **RETRIES)
def render_draft(self, letter_id: str) -> bool:
    """Render the draft PDF and move the letter to awaiting_approval (or approved, where no official is needed)."""
    settings = worker_settings()
    done = attempts.run_attempt(settings=settings, letter_id=uuid.UUID(letter_id), source=LetterStatus.SUBMITTED,
                                step=lifecycle.render_draft, transient=TRANSIENT_ERRORS, with_letter=True)
    log.info("render_draft %s: %s", letter_id, _outcome(done, "rendered"))
    if done == LetterStatus.APPROVED:  # approved automatically, committed with the draft
        log.info("render_draft %s: approved automatically", letter_id)
        issue_letter.delay(letter_id)
    elif done is False:  # not submitted: perhaps a draft the sweeper sent again for automatic approval
        _issue_if_approved_automatically(settings, letter_id)
    return bool(done)


def _issue_if_approved_automatically(settings: Settings, letter_id: str) -> None:
    """Where the village switched approval off for the type after the draft: approve now, then enqueue the issue."""
    with session_scope(settings) as session:
        approved = lifecycle.approve_automatically(session=session, settings=settings,
                                                  letter_id=uuid.UUID(letter_id))
    if approved:  # committed above, so the issuing task finds the letter approved
        log.info("render_draft %s: approved automatically", letter_id)
        issue_letter.delay(letter_id)


@shared_task(name=ISSUE_LETTER, bind=True, **RETRIES)
def issue_letter(self, letter_id: str) -> bool:
    """Number, render, sign and store the approved letter."""
    settings = worker_settings()
    done = attempts.run_attempt(settings=settings, letter_id=uuid.UUID(letter_id), source=LetterStatus.APPROVED,
                                step=issuing.issue_letter, transient=TRANSIENT_ERRORS, with_letter=True)
    log.info("issue_letter %s: %s", letter_id, _outcome(done, "issued"))
    return bool(done)


@shared_task(name=DELIVER_WEBHOOK, bind=True, **RETRIES)
def deliver_webhook(self, delivery_id: str) -> bool:
    """Make one attempt at a due webhook delivery; a failed one is planned again, the sweeper sends it then."""
    with session_scope(worker_settings()) as session:
        outcome = delivery.deliver(session=session, settings=worker_settings(), delivery_id=uuid.UUID(delivery_id))
    if outcome is None:
        log.info("deliver_webhook %s: nothing to do", delivery_id)
    return bool(outcome and outcome.delivered)

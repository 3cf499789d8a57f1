"""Celery tasks: receive a letter id, re-read the row, and let the workflow act if the status calls for it."""

from __future__ import annotations

import logging
import uuid
from functools import cache

from celery import shared_task

from shared.config import Settings, get_settings
from shared.db import session_scope
from shared.letters import issuing, workflow
from shared.queue import ISSUE_LETTER, RENDER_DRAFT

log = logging.getLogger(__name__)


@cache
def worker_settings() -> Settings:
    """The settings of this worker process, read once."""
    return get_settings()


@shared_task(name=RENDER_DRAFT, bind=True, max_retries=5)
def render_draft(self, letter_id: str) -> bool:  # type: ignore[no-untyped-def]
    """Render the draft PDF and move the letter to awaiting_approval."""
    settings = worker_settings()
    with session_scope(settings) as session:
        done = workflow.render_draft(session=session, settings=settings, letter_id=uuid.UUID(letter_id))
    log.info("render_draft %s: %s", letter_id, "rendered" if done else "nothing to do")
    _issue_if_approved_automatically(settings, letter_id)
    return done


def _issue_if_approved_automatically(settings: Settings, letter_id: str) -> None:
    """Where the village switched approval off for the type: approve now, then enqueue the issue."""
    with session_scope(settings) as session:
        approved = workflow.approve_automatically(session=session, settings=settings,
                                                  letter_id=uuid.UUID(letter_id))
    if approved:  # committed above, so the issuing task finds the letter approved
        log.info("render_draft %s: approved automatically", letter_id)
        issue_letter.delay(letter_id)


@shared_task(name=ISSUE_LETTER, bind=True, max_retries=5)
def issue_letter(self, letter_id: str) -> bool:  # type: ignore[no-untyped-def]
    """Number, render, sign and store the approved letter."""
    settings = worker_settings()
    with session_scope(settings) as session:
        done = issuing.issue_letter(session=session, settings=settings, letter_id=uuid.UUID(letter_id))
    log.info("issue_letter %s: %s", letter_id, "issued" if done else "nothing to do")
    return done

"""A letter as the people allowed to see it are shown it: one model for the JSON answer, the OpenAPI
description and the pages.

A hamlet post is told that a letter failed and what that means for the resident, in Indonesian; the error
itself (a server path, an exception) is for the village's officials.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.letters.workflow.states import Status, failed_from, is_official
from shared.letters.workflow.tracking import display_code
from shared.models import Client, Letter, LetterEvent, LetterStatus, as_utc

# What a hamlet post reads about a failed letter, by the status it failed from.
FAILURE_REASONS = {
    Status.SUBMITTED: "Konsep surat tidak dapat dibuat. Petugas desa sudah diberi tahu dan akan memprosesnya ulang.",
    Status.APPROVED: "Surat tidak dapat diterbitkan. Petugas desa sudah diberi tahu dan akan memprosesnya ulang.",
}
# Event details that describe the server, not the letter: officials only.
INTERNAL_DETAIL = ("error",)


class LetterEventView(BaseModel):
    """One change to a letter; an action's details (e.g. `reason`) sit beside type, at and actor."""

    model_config = ConfigDict(extra="allow")

    type: str
    at: datetime
    actor: str


class LetterView(BaseModel):
    """A letter as its hamlet post and its village's officials see it."""

    id: uuid.UUID
    type: str
    title: str
    status: LetterStatus
    number: str | None
    verification_url: str | None
    created_at: datetime
    updated_at: datetime
    issued_at: datetime | None
    revoked_at: datetime | None
    reason: str | None = Field(description="why an official rejected or revoked it")
    failure: str | None = Field(description="for a failed letter: what it means, in Indonesian, for anyone")
    last_error: str | None = Field(description="the last attempt's error: officials only, null for posts")
    pdf_sha256: str | None
    tracking_code: str | None = Field(description="the resident's code on the receipt: /s/<code> tells them "
                                                  "whether the letter is processing, ready or rejected")
    applicant: dict[str, Any]
    fields: dict[str, Any]
    events: list[LetterEventView] = Field(default_factory=list, description="absent in lists")

    _utc = field_validator("created_at", "updated_at", "issued_at", "revoked_at", mode="before")(as_utc)


def failure_reason(letter: Letter, events: list[LetterEvent]) -> str | None:
    """The Indonesian sentence a failed letter shows everyone, from the status its last `failed` event names."""
    if letter.status != Status.FAILED:
        return None
    return FAILURE_REASONS.get(failed_from(events), FAILURE_REASONS[Status.SUBMITTED])


def event_view(event: LetterEvent, *, official: bool) -> LetterEventView:
    """An event, without the server's own details unless the viewer is an official."""
    detail = event.detail if official else {k: v for k, v in event.detail.items() if k not in INTERNAL_DETAIL}
    return LetterEventView.model_validate({**detail, "type": event.type, "at": as_utc(event.at),
                                           "actor": event.actor})


def letter_view(letter: Letter, *, viewer: Client, title: str, verification_url: str | None,
                events: list[LetterEvent], with_events: bool = True) -> LetterView:
    """The letter as viewer (its post, or an official of its village) may see it."""
    official = is_official(viewer)
    # a number taken by an issue not yet finished is not the letter's until it is issued (its QR page says so too)
    issued = letter.status in (Status.ISSUED, Status.REVOKED)
    return LetterView(
        id=letter.id, type=letter.type, title=title, status=LetterStatus(letter.status),
        number=letter.number if issued else None,
        verification_url=verification_url if issued else None, created_at=letter.created_at,
        updated_at=letter.updated_at,
        issued_at=letter.issued_at, revoked_at=letter.revoked_at, reason=letter.reason,
        failure=failure_reason(letter, events), last_error=letter.last_error if official else None,
        pdf_sha256=letter.pdf_sha256,
        tracking_code=display_code(letter.tracking_code) if letter.tracking_code else None,
        applicant=letter.applicant, fields=letter.fields,
        events=[event_view(event, official=official) for event in events] if with_events else [],
    )

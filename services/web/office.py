"""The officials' pages: the inbox of drafts awaiting approval (approve one or several, reject with a reason),
revoke and retry, and the search of issued letters by number, name or NIK."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError

from services.api.context import db_session, settings, task_queue
from services.web.labels import status_label
from services.web.session import background, signed_in, staff
from shared.errors import DomainError, ValidationFailed
from shared.letters.attachments.requirements import missing_by_letter
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.schemas import ActionReason, field_errors
from shared.letters.workflow import lifecycle
from shared.letters.workflow.search import search_letters
from shared.letters.workflow.states import NEXT_STEP, Step
from shared.models import Letter, LetterStatus, Role

log = logging.getLogger(__name__)
bp = Blueprint("office", __name__, url_prefix="/petugas")
INBOX = 100


def _titles() -> dict[str, str]:
    return {code: t.title for code, t in load_catalog(settings().templates_dir).types.items()}


@bp.get("")
@signed_in(Role.OFFICIAL)
def inbox():
    """Drafts awaiting approval (oldest first: first come, first served), and letters that failed."""
    waiting, failed = _listed(LetterStatus.AWAITING_APPROVAL), _listed(LetterStatus.FAILED)
    missing = missing_by_letter(db_session(), waiting, load_catalog(settings().templates_dir))
    return render_template("web/inbox.html", waiting=list(reversed(waiting)), failed=failed, titles=_titles(),
                           missing={letter_id: len(documents) for letter_id, documents in missing.items()})


@bp.get("/menunggu")
@background
@signed_in(Role.OFFICIAL)
def waiting():
    """The ids of the drafts awaiting approval, as JSON: the inbox polls it to say when new ones have arrived
    (static/pages.js), and does not reload itself, which would lose the drafts ticked for approval."""
    return jsonify(waiting=[str(letter.id) for letter in _listed(LetterStatus.AWAITING_APPROVAL)])


def _listed(status: LetterStatus) -> list[Letter]:
    """The signed-in official's village's letters in status, newest first, at most INBOX: one list for the inbox
    and its poll, so that the poll never counts as new a draft the inbox leaves out."""
    letters, _ = lifecycle.list_letters(session=db_session(), client=staff().client, status=status, limit=INBOX)
    return letters


def _approve(letter_id: uuid.UUID, checked_in_person: list[str] | None = None) -> Letter:
    """approve_letter as the signed-in official, then the issue step (the API's approve does the same)."""
    letter = lifecycle.approve_letter(session=db_session(), settings=settings(), letter_id=letter_id,
                                      actor=staff().client, checked_in_person=checked_in_person or ())
    task_queue().request(Step.ISSUE, letter.id)
    return letter


@bp.post("/surat/<uuid:letter_id>/setujui")
@signed_in(Role.OFFICIAL)
def approve(letter_id: uuid.UUID):
    """Approve one draft; the worker then numbers, signs and issues it."""
    try:
        _approve(letter_id, request.form.getlist("checked_in_person")[:INBOX])
    except ValidationFailed as error:  # a missing document not ticked: said beside the checkboxes
        db_session().rollback()
        flash(error.detail, "field:checked_in_person")
        return redirect(url_for("web.letters.show", letter_id=letter_id), code=303)
    flash("Surat disetujui; surat sedang diterbitkan.")
    return redirect(url_for("web.office.inbox"), code=303)


def _unconfirmed(letter_id: uuid.UUID) -> str | None:
    """Why a letter cannot be approved in bulk (documents missing, which only its page can confirm), or None."""
    letter = lifecycle.visible_letter(db_session(), staff().client, letter_id)
    missing = missing_by_letter(db_session(), [letter], load_catalog(settings().templates_dir))[letter.id]
    if not missing or letter.status != LetterStatus.AWAITING_APPROVAL:
        return None
    title = _titles().get(letter.type, letter.type)
    return (f"{title} untuk {letter.applicant.get('name', '')}: belum dilampirkan "
            f"{'; '.join(document.label for document in missing)}. Buka suratnya untuk menyatakan dokumen diperiksa "
            "langsung.")


@bp.post("/setujui")
@signed_in(Role.OFFICIAL)
def approve_selected():
    """Approve every selected draft; each one that cannot be approved (anymore) is named, the others go on."""
    approved, refused = 0, []
    for raw in request.form.getlist("letter_id")[:INBOX]:
        try:
            if reason := _unconfirmed(uuid.UUID(raw)):
                refused.append(reason)
                continue
            _approve(uuid.UUID(raw))
            approved += 1
        except (ValueError, DomainError) as error:
            db_session().rollback()
            refused.append(getattr(error, "detail", "kode surat tidak valid"))
    flash(f"{approved} surat disetujui; surat sedang diterbitkan." if approved else "Tidak ada surat yang disetujui.")
    for detail in refused:
        flash(f"Satu surat tidak dapat disetujui: {detail}", "error")
    return redirect(url_for("web.office.inbox"), code=303)


def _with_reason(letter_id: uuid.UUID, action: Callable[..., Letter], done: str):
    """Reject or revoke with the form's reason; a reason the API would refuse is shown beside its field."""
    try:
        reason = ActionReason.model_validate({"reason": request.form.get("reason", "")}).reason
    except ValidationError as exc:
        flash(field_errors(exc)[0].message, "reason")  # the letter page shows it beside the reason field
        return redirect(url_for("web.letters.show", letter_id=letter_id), code=303)
    action(session=db_session(), letter_id=letter_id, actor=staff().client, reason=reason)
    flash(done)
    return redirect(url_for("web.letters.show", letter_id=letter_id), code=303)


@bp.post("/surat/<uuid:letter_id>/tolak")
@signed_in(Role.OFFICIAL)
def reject(letter_id: uuid.UUID):
    """Turn a draft down with a reason (the resident's tracking page shows it)."""
    return _with_reason(letter_id, lifecycle.reject_letter, "Permohonan ditolak.")


@bp.post("/surat/<uuid:letter_id>/cabut")
@signed_in(Role.OFFICIAL)
def revoke(letter_id: uuid.UUID):
    """Revoke an issued letter with a reason; its verification page then says DICABUT."""
    return _with_reason(letter_id, lifecycle.revoke_letter, "Surat dicabut.")


@bp.post("/surat/<uuid:letter_id>/ulang")
@signed_in(Role.OFFICIAL)
def retry(letter_id: uuid.UUID):
    """Send a failed letter back to where it failed; the worker tries again."""
    letter = lifecycle.retry_letter(session=db_session(), letter_id=letter_id, actor=staff().client)
    task_queue().request(NEXT_STEP[LetterStatus(letter.status)], letter.id)
    flash("Surat diproses ulang.")
    return redirect(url_for("web.letters.show", letter_id=letter_id), code=303)


@bp.route("/cari", methods=["GET", "POST"])
@signed_in(Role.OFFICIAL)
def search():
    """Issued (and revoked) letters by number, applicant name or whole NIK; a POST, so no NIK is in a URL."""
    text = request.form.get("q", "")[:100] if request.method == "POST" else ""
    found = search_letters(db_session(), official=staff().client, text=text) if text.strip() else None
    return render_template("web/search.html", q=text, found=found, titles=_titles(), status_label=status_label)

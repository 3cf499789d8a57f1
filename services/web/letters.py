"""A letter's pages for its post and its village's officials: the letter with its history, the receipt with the
tracking code and its QR, the signed PDF, and the draft as an image."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import segno
from flask import Blueprint, Response, abort, render_template, request

from services.api.context import db_session, settings
from services.web.attachments import may_upload, requirement_rows
from services.web.labels import event_label, local_time, status_label
from services.web.request_form import APPLICANT, PERSON, SEX
from services.web.session import signed_in, staff
from shared.db import get_existing
from shared.errors import WrongStatus
from shared.letters.documents.preview import draft_preview
from shared.letters.documents.wording import format_amount, format_indonesian_date
from shared.letters.intake.catalog import LetterType, load_catalog
from shared.letters.workflow import lifecycle
from shared.letters.workflow.events import letter_events
from shared.letters.workflow.issuing import verification_url
from shared.letters.workflow.tracking import display_code
from shared.letters.workflow.views import event_view
from shared.models import Letter, LetterStatus, Village
from shared.storage import LetterFiles

bp = Blueprint("letters", __name__, url_prefix="/surat")


def _visible(letter_id: uuid.UUID) -> Letter:
    return lifecycle.visible_letter(db_session(), staff().client, letter_id)


def _person_text(person: dict[str, Any]) -> str:
    labels = {i.name: i.label for i in PERSON}
    shown = {**person, **({"sex": SEX.get(person["sex"], person["sex"])} if person.get("sex") else {})}
    if person.get("birth_date"):
        shown["birth_date"] = format_indonesian_date(date.fromisoformat(person["birth_date"]))
    return "; ".join(f"{labels[k]} {v}" if k != "name" else str(v) for k, v in shown.items() if k in labels)


def field_rows(letter_type: LetterType | None, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """The type's own fields as (label, text), in the type's order."""
    rows = []
    for spec in letter_type.fields if letter_type else []:
        value = fields.get(spec.name)
        if value is None:
            continue
        if spec.type == "person":
            text = _person_text(value)
        elif spec.type == "persons":
            text = " | ".join(_person_text(p) for p in value)
        elif spec.type == "enum":
            text = spec.options.get(value, value)
        elif spec.type == "boolean":
            text = "Ya" if value else "Tidak"
        elif spec.type == "date":
            text = format_indonesian_date(date.fromisoformat(value))
        elif spec.type == "amount":
            text = format_amount(value)
        else:
            text = str(value)
        rows.append((spec.label, text))
    return rows


def applicant_rows(applicant: dict[str, Any]) -> list[tuple[str, str]]:
    """The applicant's data as (label, text), as the form asked for it."""
    shown = {**applicant, "sex": SEX.get(applicant.get("sex", ""), applicant.get("sex"))}
    if applicant.get("birth_date"):
        shown["birth_date"] = format_indonesian_date(date.fromisoformat(applicant["birth_date"]))
    return [(i.label, str(shown[i.name])) for i in APPLICANT if shown.get(i.name) is not None]


@bp.get("/<uuid:letter_id>")
@signed_in()
def show(letter_id: uuid.UUID):
    """The letter, its data, what may be done with it now, and its history (who did what, when)."""
    letter = _visible(letter_id)
    session = db_session()
    village = get_existing(session, Village, letter.village_id)
    letter_type = load_catalog(settings().templates_dir).get(letter.type)
    official = staff().is_official
    events = [event_view(e, official=official) for e in letter_events(session, letter.id)]
    has_draft = LetterFiles(settings()).exists(letter.id, "draft")
    requirements = requirement_rows(letter, letter_type)
    return render_template(
        "web/letter.html", letter=letter, title=letter_type.title if letter_type else letter.type,
        status=status_label(letter.status), applicant=applicant_rows(letter.applicant),
        fields=field_rows(letter_type, letter.fields), official=official, has_draft=has_draft,
        requirements=requirements, missing=[(r.kind, r.label) for r in requirements if not r.attached],
        may_upload=may_upload(letter),
        history=[(local_time(e.at, village), event_label(e.type), e.actor, getattr(e, "reason", None))
                 for e in events],
        submitted_at=local_time(letter.created_at, village),
        verification=verification_url(settings(), letter.verification_token)
        if letter.verification_token and letter.status in (LetterStatus.ISSUED, LetterStatus.REVOKED) else None)


@bp.get("/<uuid:letter_id>/tanda-terima")
@signed_in()
def receipt(letter_id: uuid.UUID):
    """The printable receipt for the resident: the request, the tracking code and its QR to /s/<code>."""
    letter = _visible(letter_id)
    if letter.tracking_code is None:
        raise WrongStatus("Surat ini diajukan sebelum ada kode lacak; tanda terima tidak tersedia.")
    village = get_existing(db_session(), Village, letter.village_id)
    letter_type = load_catalog(settings().templates_dir).get(letter.type)
    url = f"{settings().public_base_url.rstrip('/')}/s/{display_code(letter.tracking_code)}"
    qr = segno.make(url, error="m").svg_inline(scale=4, title="Kode QR halaman lacak surat")
    return render_template("web/receipt.html", letter=letter, village=village, url=url, qr=qr,
                           title=letter_type.title if letter_type else letter.type,
                           code=display_code(letter.tracking_code), submitted_at=local_time(letter.created_at, village))


@bp.get("/<uuid:letter_id>/surat.pdf")
@signed_in()
def pdf(letter_id: uuid.UUID):
    """The signed PDF (inline, to print; `?unduh=1` to save), named after its number; 409 before it is issued."""
    letter = _visible(letter_id)
    if letter.number is None or letter.status not in (LetterStatus.ISSUED, LetterStatus.REVOKED):
        raise WrongStatus("Surat belum diterbitkan; PDF bertanda tangan belum tersedia.")
    data = LetterFiles(settings()).read(letter.id, "issued")
    if data is None:
        abort(404)
    filename = "surat-" + re.sub(r"[^A-Za-z0-9.]+", "-", letter.number).strip("-") + ".pdf"
    disposition = "attachment" if request.args.get("unduh") else "inline"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@bp.get("/<uuid:letter_id>/konsep.png")
@signed_in()
def draft_image(letter_id: uuid.UUID):
    """The draft's first page as an image (a phone cannot show a PDF inline); 409 while there is no draft."""
    letter = _visible(letter_id)
    image = draft_preview(settings(), letter.id)
    if image is None:
        raise WrongStatus("Konsep surat belum selesai dibuat; coba lagi sebentar lagi.")
    return Response(image, mimetype="image/png")  # rendered once per draft, kept on disk

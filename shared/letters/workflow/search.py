"""Finding a village's letters by number, applicant name or NIK (the officials' search page)."""

from __future__ import annotations

import re

from sqlmodel import Session, col, func, select

from shared.letters.intake.nik import NIK_SHAPE
from shared.letters.workflow.states import Status, require_official
from shared.models import Client, Letter

SEARCHED = (Status.ISSUED, Status.REVOKED)
LIMIT = 50


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_letters(session: Session, *, official: Client, text: str,
                   statuses: tuple[Status, ...] = SEARCHED) -> list[Letter]:
    """The official's village's letters in statuses whose number or applicant's name contains text (any case),
    or whose applicant's NIK is text (a whole NIK only: a part of one finds nothing); newest first."""
    require_official(official)
    text = " ".join(text.split())
    query = select(Letter).where(Letter.village_id == official.village_id,
                                 col(Letter.status).in_([s.value for s in statuses]))
    if re.fullmatch(NIK_SHAPE, text):
        query = query.where(Letter.applicant["nik"].as_string() == text)
    elif text:
        like = f"%{_escaped(text.lower())}%"
        name = func.lower(Letter.applicant["name"].as_string())
        query = query.where(func.lower(col(Letter.number)).like(like, escape="\\") | name.like(like, escape="\\"))
    query = query.order_by(col(Letter.created_at).desc(), col(Letter.id).desc()).limit(LIMIT)
    return list(session.exec(query).all())

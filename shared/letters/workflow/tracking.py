"""The resident's tracking code: printed on the receipt (tanda terima), it opens a public page that says
only whether the letter is being processed, ready or rejected (with the reason)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from shared.letters.workflow.states import Status
from shared.models import Letter

# Crockford-style: no 0/O, 1/I/L, U; 12 characters of 31 = 59 bits, unguessable under the per-address limit.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12


def new_tracking_code() -> str:
    """A fresh random code, stored without separators."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display_code(code: str) -> str:
    """The code as printed and typed: three groups of four."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_code(typed: str) -> str | None:
    """A code as a resident may type it (lower case, dashes, spaces), or None if it cannot be one."""
    code = "".join(typed.split()).replace("-", "").upper()
    return code if len(code) == LENGTH and all(c in ALPHABET for c in code) else None


def find_by_tracking_code(session: Session, typed: str) -> Letter | None:
    """The letter whose receipt carries this code."""
    code = normalise_code(typed)
    return session.exec(select(Letter).where(Letter.tracking_code == code)).first() if code else None


@dataclass(frozen=True)
class Tracking:
    """What the public tracking page says, and nothing more: a state and, for a rejection, its reason."""

    state: str  # processing, ready, rejected, revoked
    reason: str | None = None


def tracking_state(letter: Letter) -> Tracking:
    """processing (submitted to approved, and failed: it will be retried), ready, rejected (why), revoked."""
    match letter.status:
        case Status.ISSUED:
            return Tracking("ready")
        case Status.REJECTED:
            return Tracking("rejected", letter.reason)
        case Status.REVOKED:
            return Tracking("revoked")
    return Tracking("processing")

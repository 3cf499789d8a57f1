"""Every letter type's example as a finished letter (number, QR code, signature), for people to look at."""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from shared.config import Settings
from shared.letters.documents.compose import signer_for
from shared.letters.documents.letter_pdf import render_letter
from shared.letters.intake.catalog import LetterType, load_catalog
from shared.letters.intake.validation import example_request, validate_request
from shared.letters.signing.signatures import VillageSigner, ensure_village_key, load_signer, sign_pdf
from shared.letters.workflow.issuing import number_pattern, verification_url, village_signer
from shared.letters.workflow.numbering import format_number
from shared.models import Village
from shared.villages import demo_village, village_emblem, village_today

SAMPLE_SEQUENCE = 1


def sample_token(code: str) -> str:
    """A fixed, token-shaped string per type, so the same samples come out on every run."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"contoh:{code}".encode()).digest()).decode().rstrip("=")


@contextmanager
def sample_signer(settings: Settings, village: Village) -> Iterator[VillageSigner]:
    """The village's key of this deployment if it has one, else a development key made for the occasion."""
    if village.code in settings.signing_keys or (settings.keys_dir / "villages" / village.code).is_dir():
        yield village_signer(settings, village)
        return
    with tempfile.TemporaryDirectory(prefix="suratdesa-samples-") as home:
        keys = Path(home) / "keys"
        ensure_village_key(keys, village_code=village.code, village_name=f"Desa {village.name}",
                           signer_position=signer_for(village)["position"])
        yield load_signer(keys, village_code=village.code)


def sample_pdf(letter_type: LetterType, village: Village, settings: Settings, signer: VillageSigner,
               today: date) -> bytes:
    """The type's example, numbered as the first letter of its kind this month, signed."""
    request = validate_request(example_request(letter_type), load_catalog(settings.templates_dir), today=today)
    number = format_number(number_pattern(settings, village), classification=letter_type.classification,
                           seq=SAMPLE_SEQUENCE, village_code=village.code, on=today)
    rendered = render_letter(letter_type=letter_type, village=village, emblem=village_emblem(village),
                             applicant=request.applicant,
                             fields=request.fields, letter_date=today, number=number,
                             verification_url=verification_url(settings, sample_token(letter_type.code)))
    return sign_pdf(rendered.pdf, signer, reason=f"Contoh surat: {letter_type.title} {number}",
                    location=f"Desa {village.name}")


def write_samples(directory: Path, settings: Settings, village: Village | None = None,
                  now: datetime | None = None) -> list[Path]:
    """One PDF per letter type in directory, named by the type's code and dated the village's today."""
    village = village or demo_village()
    directory.mkdir(parents=True, exist_ok=True)
    today, written = village_today(village, now=now), []
    with sample_signer(settings, village) as signer:
        for letter_type in load_catalog(settings.templates_dir).types.values():
            path = directory / f"{letter_type.code}.pdf"
            path.write_bytes(sample_pdf(letter_type, village, settings, signer, today))
            written.append(path)
    return written

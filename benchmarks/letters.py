"""Part 1: what rendering and signing one `sktm` letter costs in CPU, on one core, with the service's own code."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from shared.config import Settings
from shared.letters.documents.letter_pdf import final_letter, render_letter
from shared.letters.documents.qr import qr_operators
from shared.letters.documents.slots import QR_SIZE
from shared.letters.intake.catalog import LetterType, load_catalog
from shared.letters.intake.validation import example_request, validate_request
from shared.letters.signing.keys import VillageSigner
from shared.letters.signing.signatures import ensure_village_key, load_signer, sign_pdf
from shared.models import Village
from shared.villages import demo_village, village_emblem

LETTER_DATE = date(2026, 11, 27)
NUMBER = "474/012/Ds.Cjk/XI/2026"
VERIFICATION_URL = "http://127.0.0.1:8000/v/" + "x" * 43  # as long as a real token's link


def cpu_ms(action: Callable[[], object], repeat: int) -> float:
    """Median CPU time of action in milliseconds, over repeat runs after two warm-ups."""
    return cpu_ms_of(lambda: None, lambda _prepared: action(), repeat)


def cpu_ms_of(prepare: Callable[[], Any], action: Callable[[Any], object], repeat: int) -> float:
    """Median CPU time in milliseconds of action(prepare()), prepare's own time left out; two warm-ups."""
    samples = []
    for run in range(repeat + 2):
        prepared = prepare()
        start = time.process_time()
        action(prepared)
        if run >= 2:
            samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


@contextmanager
def one_core() -> Iterator[None]:
    """Run the block pinned to one CPU (the last one), then give the process its CPUs back."""
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(allowed)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


@dataclass(frozen=True)
class SampleLetter:
    """The `sktm` example of the demo village, as the worker would render and sign it."""

    letter_type: LetterType
    village: Village
    applicant: dict[str, Any]
    fields: dict[str, Any]
    signer: VillageSigner

    def render(self, *, final: bool) -> bytes:
        """The draft (final=False) or the numbered letter with its QR code, unsigned."""
        return render_letter(letter_type=self.letter_type, village=self.village, emblem=village_emblem(self.village),
                             applicant=self.applicant,
                             fields=self.fields, letter_date=LETTER_DATE, number=NUMBER if final else None,
                             verification_url=VERIFICATION_URL if final else None).pdf

    def finish(self, draft: bytes) -> IncrementalPdfFileWriter:
        """The numbered letter as issuing makes it: the draft with its slots filled, ready to be signed."""
        finished = final_letter(letter_type=self.letter_type, village=self.village,
                                emblem=village_emblem(self.village), applicant=self.applicant,
                                fields=self.fields, letter_date=LETTER_DATE, number=NUMBER,
                                verification_url=VERIFICATION_URL, draft=draft)
        assert isinstance(finished.pdf, IncrementalPdfFileWriter), "the draft should have been finished"
        return finished.pdf

    def sign(self, pdf: bytes | IncrementalPdfFileWriter) -> bytes:
        """The PDF signed as issuing signs it."""
        return sign_pdf(pdf, self.signer, reason="Surat keterangan desa", location=self.village.name)


def sample_letter(keys_dir: Path, templates_dir: Path) -> SampleLetter:
    """The demo village's `sktm` example with a development key made under keys_dir."""
    letter_type = load_catalog(templates_dir).types["sktm"]
    village = demo_village()
    request = validate_request(example_request(letter_type), load_catalog(templates_dir), today=LETTER_DATE)
    ensure_village_key(keys_dir, village_code=village.code, village_name=f"Desa {village.name}",
                       signer_position=f"Kepala Desa {village.name}")
    return SampleLetter(letter_type=letter_type, village=village, applicant=request.applicant,
                        fields=request.fields, signer=load_signer(keys_dir, village_code=village.code))


def render_and_sign(settings: Settings, repeat: int) -> dict[str, float]:
    """CPU ms of the draft, of the final made from it (its QR code apart), of the signature; the total and letters/s.

    As issuing does it: the final is the draft with its slots filled. The final laid out anew (a draft from another
    day) is timed too, outside the total."""
    letter = sample_letter(settings.keys_dir, settings.templates_dir)
    draft_pdf = letter.render(final=False)
    with one_core():
        draft = cpu_ms(lambda: letter.render(final=False), repeat)
        finished = cpu_ms(lambda: letter.finish(draft_pdf), repeat)
        qr = cpu_ms(lambda: qr_operators(VERIFICATION_URL, QR_SIZE), repeat)
        signature = cpu_ms_of(lambda: letter.finish(draft_pdf), letter.sign, repeat)  # the finished draft signed
        anew = cpu_ms(lambda: letter.render(final=True), repeat)
    total = draft + finished + signature
    return {"draft_ms": draft, "final_from_draft_ms": finished - qr, "final_qr_ms": qr, "signature_ms": signature,
            "total_ms": total, "letters_per_s": 1000 / total, "final_laid_out_anew_ms": anew}

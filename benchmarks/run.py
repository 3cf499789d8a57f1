"""`make bench`: what a letter costs on this machine, from validation to a signed PDF, and end to end.

Figures are printed with the machine they came from; compare ratios across machines, not raw numbers.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from shared.config import Settings
from shared.letters.documents.compose import build_document, default_signer
from shared.letters.documents.document import LetterDocument
from shared.letters.documents.rendering import render_letter_pdf
from shared.letters.intake.catalog import load_catalog
from shared.letters.intake.validation import example_request, validate_request
from shared.letters.signing.signatures import ensure_village_key, load_signer, sign_pdf
from shared.villages import demo_village


def timed(label: str, action: Callable[[], object], repeat: int) -> float:
    """Run action repeat times after one warm-up; print and return the median in milliseconds."""
    action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    median = statistics.median(samples)
    print(f"  {label:<44} {median:8.2f} ms  (median of {repeat})")
    return median


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def letter_costs(settings: Settings) -> None:
    """Validation, draft render, final render with QR, signature."""
    catalog = load_catalog(settings.templates_dir)
    sktm = catalog.types["sktm"]
    body = example_request(sktm)
    village = demo_village()
    ensure_village_key(settings.keys_dir, village_code=village.code, village_name="Desa Cijengkol",
                       signer_position="Kepala Desa Cijengkol")
    signer = load_signer(settings.keys_dir, village_code=village.code)
    today = date(2026, 11, 27)
    request = validate_request(body, catalog, today=today)

    def document(number: str | None) -> LetterDocument:
        return build_document(letter_type=sktm, village=village, applicant=request.applicant,
                              fields=request.fields, signer=default_signer(village), letter_date=today,
                              number=number, verification_url="http://127.0.0.1:8000/v/" + "x" * 43 if number else None)

    final_pdf = render_letter_pdf(document("401/012/Ds.Cjk/XI/2026"))
    validation = timed("validate a request (sktm)", lambda: validate_request(body, catalog, today=today), 200)
    draft = timed("render the draft PDF", lambda: render_letter_pdf(document(None)), 30)
    final = timed("render the final PDF (number, vector QR)",
                  lambda: render_letter_pdf(document("401/012/Ds.Cjk/XI/2026")), 30)
    sign = timed("sign (PAdES B-B, ECDSA P-256)", lambda: sign_pdf(final_pdf, signer, reason="r", location="l"), 30)
    print(f"  issuing CPU cost per letter (render + sign) ~ {final + sign:.1f} ms; "
          f"validation is {validation / (final + sign):.1%} of it, the draft {draft / (final + sign):.0%}")


def end_to_end(label: str, extra_env: dict[str, str], letters: int = 30) -> None:
    """Submit, approve and issue a batch through real API and worker processes."""
    from tests.conftest import start_stack

    with tempfile.TemporaryDirectory() as home:
        stack = start_stack(Path(home), extra_env)
        try:
            body = next(t["example"] for t in stack.request("GET", "/api/v1/letter-types", stack.post_token).json()
                        if t["code"] == "sktm")
            start = time.perf_counter()
            ids = [stack.submit(body).json()["id"] for _ in range(letters)]
            submitted = time.perf_counter() - start
            for letter_id in ids:
                stack.wait_for(letter_id, "awaiting_approval", timeout=120)
                stack.request("POST", f"/api/v1/letters/{letter_id}/approve", stack.official_token)
            for letter_id in ids:
                stack.wait_for(letter_id, "issued", timeout=120)
            total = time.perf_counter() - start
            print(f"  {label}: {letters} letters submitted in {submitted:.2f} s "
                  f"({letters / submitted:.0f}/s), all issued after {total:.1f} s ({letters / total:.1f} letters/s)")
        finally:
            stack.stop_all()


def main() -> None:
    print(f"suratdesa benchmarks on {machine()}")
    with tempfile.TemporaryDirectory() as home:
        letter_costs(Settings(suratdesa_home=Path(home)))
    print("end to end (one API with 2 gunicorn workers, one Celery worker with concurrency 2):")
    end_to_end("embedded (SQLite + SQLite broker)", {})
    if "--embedded-only" not in sys.argv:
        from tests.conftest import claim_redis_db, create_database, drop_database

        url = create_database()
        try:
            end_to_end("PostgreSQL + Redis", {"DATABASE_URL": url,
                                             "BROKER_URL": f"redis://127.0.0.1:6379/{claim_redis_db()}"})
        finally:
            drop_database(url)


if __name__ == "__main__":
    main()

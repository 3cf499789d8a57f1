"""Log lines never carry a NIK, a verification token or a tracking code, tracebacks included."""

from __future__ import annotations

import io
import logging
import uuid

from shared.logs import RedactingFormatter, redact


def test_redact_hides_sixteen_digit_numbers_verification_tokens_and_tracking_codes_but_keeps_letter_ids() -> None:
    letter_id = str(uuid.uuid4())
    line = f"letter {letter_id} nik=3202091203850001 GET /v/c2PlkuEA8Oz2JofGSDvruWvC2keKxbZGhiX2glqhtyo HTTP/1.1"
    assert redact(line) == f"letter {letter_id} nik=[nik] GET /v/[token] HTTP/1.1"
    assert redact('"GET /s/7KQ2-MX9P-4TRW HTTP/1.1" 200') == '"GET /s/[code] HTTP/1.1" 200'
    assert redact("GET /s/7kq2mx9p4trw?x=1") == "GET /s/[code]?x=1"
    assert redact("issued 50 letters/s in all") == "issued 50 letters/s in all"
    assert redact("number 401/012/Ds.Cjk/XI/2026, 12345678901234567") == (
        "number 401/012/Ds.Cjk/XI/2026, 12345678901234567")  # 17 digits: not a NIK
    # a duration's sixteen decimals are not a NIK; a NIK that ends a sentence still is
    assert redact("Task succeeded in 0.0123456789012345s") == "Task succeeded in 0.0123456789012345s"
    assert redact("NIK pemohon 3202091203850001.") == "NIK pemohon [nik]."


def test_formatter_redacts_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        raise ValueError("bad applicant {'nik': '3202095203850001'}")
    except ValueError:
        logger.exception("failed for %s", "3202091203850001")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "3202095203850001" not in text and "3202091203850001" not in text
    assert "ValueError: bad applicant {'nik': '[nik]'}" in text and "failed for [nik]" in text

"""Logging that never writes a NIK (or any 16-digit number), a verification token or a tracking code."""

from __future__ import annotations

import logging
import re

from shared.letters.intake.nik import hide_niks

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Verification tokens are capabilities: whoever reads them can open the letter's public page.
_VERIFY_TOKEN = re.compile(r"(/v/)[A-Za-z0-9_-]{8,}")
# So are tracking codes: one opens the resident's page of the letter's progress, with a rejection's reason.
_TRACKING_CODE = re.compile(r"(/s/)[A-Za-z0-9-]{4,}")


def redact(text: str) -> str:
    """text with 16-digit numbers, verification tokens and tracking codes replaced by placeholders."""
    return _TRACKING_CODE.sub(r"\1[code]", _VERIFY_TOKEN.sub(r"\1[token]", hide_niks(text)))


class RedactingFormatter(logging.Formatter):
    """Formats with another formatter, then redacts the whole line (tracebacks included)."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def redact_handlers(logger: logging.Logger) -> None:
    """Wrap the formatter of every handler of logger (idempotent)."""
    for handler in logger.handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))


def configure_logging(level: int = logging.INFO) -> None:
    """INFO lines to stderr for this process, redacted."""
    logging.basicConfig(level=level, format=FORMAT)
    redact_handlers(logging.getLogger())
    # Alembic logs each of its plugins at INFO when imported: a dozen lines per process start, none useful.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))

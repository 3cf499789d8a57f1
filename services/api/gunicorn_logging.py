"""gunicorn's access and error logs, redacted like the application's (no NIK, no verification token)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from shared.logs import redact_handlers


class RedactingLogger(Logger):
    """gunicorn's logger, with every handler's lines passed through shared.logs.redact.

    The access log is redacted as a whole line, once (not atom by atom: gunicorn makes an atom of every request
    header and environ value, a few dozen of them per request, and the line uses a handful)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        redact_handlers(self.error_log)
        redact_handlers(self.access_log)

"""gunicorn's access and error logs, redacted like the application's (no NIK, no verification token)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from shared.logs import redact, redact_handlers


class RedactingLogger(Logger):
    """gunicorn's logger, with every handler's lines passed through shared.logs.redact."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        redact_handlers(self.error_log)
        redact_handlers(self.access_log)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}

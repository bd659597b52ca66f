"""Structured logging: every record is an event name plus fields.

Code logs ``log.info("acd.offer", extra={"call_id": ..., "agent": ...})``; this
formatter renders the ``extra`` fields as ``key=value`` pairs (``text``) or as
one JSON object per line (``json``; ``BANKCTI_LOG_FORMAT=json`` or ``[log] format``, see the README's
"Logging" section).  Secrets never reach here: callers log masked values only — never a PIN or a full
account or ID number.
"""

from __future__ import annotations

import json
import logging
import sys
import time

__all__ = ["StructuredFormatter", "configure_logging"]

# Attributes every LogRecord has; anything else came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class StructuredFormatter(logging.Formatter):
    def __init__(self, fmt: str = "text") -> None:
        super().__init__()
        self._json = fmt == "json"

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        stamp += f".{int(record.msecs):03d}Z"
        if self._json:
            body: dict[str, object] = {
                "ts": stamp,
                "level": record.levelname.lower(),
                "logger": record.name,
                "event": record.getMessage(),
                **fields,
            }
            if record.exc_info:
                body["exc"] = self.formatException(record.exc_info)
            return json.dumps(body, default=str, ensure_ascii=False)
        pairs = " ".join(
            f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}" for k, v in fields.items()
        )
        line = f"{stamp} {record.levelname:<7} {record.getMessage()}"
        if pairs:
            line += " " + pairs
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(StructuredFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter that is not ours stays at warnings.
    for noisy in ("uvicorn.access", "panoramisk", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

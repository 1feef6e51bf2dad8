"""Structured logs: JSON lines (containers) or console (humans), one pipeline for everything.

structlog loggers and stdlib loggers (uvicorn, SQLAlchemy, alembic, …) render through the same
processors, so every line carries the context bound with `structlog.contextvars` (a job binds
its delivery id and repository) and passes the redaction step. Redaction is belt and braces:
values under sensitive key names are masked, and the configured secret values themselves are
masked wherever they appear in a line (an exception message that quoted a token, say).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import IO, Any

import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from structlog.types import EventDict, Processor, WrappedLogger

from bot.config import Settings

REDACTED = "[REDACTED]"
_SENSITIVE_KEY = re.compile(
    r"token|secret|password|passwd|authorization|signature|private_key|api_key|cookie|"
    r"x-hub-signature|x-gitlab-token|webhook-signature",
    re.IGNORECASE,
)
_HANDLER_NAME = "readiness"
_NOISY = {
    "uvicorn.access": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "alembic.runtime.migration": logging.WARNING,  # "Context impl SQLiteImpl." on every start
}


class Redactor:
    """Masks values of sensitive keys (recursively) and any known secret value inside strings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def _text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def _value(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and _SENSITIVE_KEY.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(None, v) for v in value]
        if isinstance(value, bytes | bytearray):
            return self._text(bytes(value).decode("utf-8", "replace"))
        return value

    def __call__(self, _logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        return {k: self._value(k, v) for k, v in event_dict.items()}


def _drop_color_message(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)  # uvicorn repeats the message with ANSI colours
    return event_dict


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret value a log line could quote: the secret settings and the database password."""
    values = [secret.get_secret_value() for secret in settings.secrets()]
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:
        password = None
    if password:
        values.append(str(password))
    return values


def configure_logging(settings: Settings, *, stream: IO[str] | None = None) -> None:
    """Route structlog and stdlib logging through one redacting renderer on `stream` (stderr)."""
    redact = Redactor(configured_secrets(settings))
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_color_message,
    ]
    console = settings.log_format == "console"
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False) if console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # reconfigurable (tests, `serve` after settings load)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,  # tracebacks become text, then get redacted
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "alembic", "apscheduler"):
        lib = logging.getLogger(name)
        lib.handlers.clear()  # uvicorn installs its own; everything goes through the root
        lib.propagate = True
    for name, level in _NOISY.items():
        logging.getLogger(name).setLevel(max(level, logging.getLevelName(settings.log_level)))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)

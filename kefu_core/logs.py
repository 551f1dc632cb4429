"""Logging that keeps personal data out: emails and phone numbers redacted in every record of the process.

Installed as the log-record factory, so it covers every logger (ours, Rasa's, Sanic's, uvicorn's) whatever
handler formats the record later. Standard library only: the Rasa environment imports it too (the JSON
format's python-json-logger is imported only when KEFU_LOG_FORMAT=json asks for it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digits with the separators people type in phone numbers; judged by its digit count below.
_PHONE_RUN = re.compile(r"(?<![\w.:/-])\+?\(?\d[\d ().-]{5,22}\d(?![\w:/-]|\.\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PHONE_DIGITS = range(7, 16)  # E.164 allows at most 15; 7 catches local numbers without an area code
EMAIL_MARK, PHONE_MARK = "[email]", "[phone]"


def _phone(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = sum(ch.isdigit() for ch in run)
    if digits not in PHONE_DIGITS or _DATE.search(run):
        return run  # a date, an amount, an id: not a phone number
    return PHONE_MARK


def redact(text: str) -> str:
    """`text` with email addresses and phone numbers replaced by markers."""
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MARK, text)
    return _PHONE_RUN.sub(_phone, text)


_installed = False


def install_redaction() -> None:
    """Redact every log record this process creates from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the handler to report, as logging does
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(redacting)
    # httpx logs every request's URL at INFO, query string included (a search's question, a token).
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    _installed = True


# Set by crm_bridge's request-id middleware and by the turn worker; every JSON log line carries them.
REQUEST_ID: ContextVar[str | None] = ContextVar("kefu_request_id", default=None)
CONVERSATION_ID: ContextVar[str | None] = ContextVar("kefu_conversation_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Servers' loggers that print through handlers of their own rather than the root's.
OWN_HANDLER_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "sanic.root",
    "sanic.error",
    "sanic.access",
)


@contextmanager
def conversation_context(conversation_id: str | None) -> Iterator[None]:
    """Log records made inside the block carry `conversation_id`."""
    token = CONVERSATION_ID.set(conversation_id)
    try:
        yield
    finally:
        CONVERSATION_ID.reset(token)


class ContextFilter(logging.Filter):
    """Puts the current request and conversation ids on each record (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate; never drops a record."""
        record.request_id = REQUEST_ID.get()
        record.conversation_id = CONVERSATION_ID.get()
        return True


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def json_formatter() -> logging.Formatter:
    """One JSON object per record: time, level, logger, message, request and conversation ids, extras.

    The record factory redacts only the message: `extra=` fields and tracebacks are attached after it, so
    every string of the finished object is redacted again here.
    """
    from pythonjsonlogger.json import JsonFormatter  # the app environment only (requirements/app.in)

    class RedactingJsonFormatter(JsonFormatter):
        def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
            return {key: _scrub(value) for key, value in log_record.items()}

    return RedactingJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(conversation_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure(level: str, fmt: str = "text", text_format: str = TEXT_FORMAT) -> None:
    """Redaction on, and records at `level` and above from every logger to stderr, as readable text
    (`text_format`) or (`fmt="json"`) one JSON object per line; the handler is added once per process, its
    format follows the latest call."""
    install_redaction()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_kefu", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.addFilter(ContextFilter())
        handler._kefu = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(text_format))
    if fmt == "json":
        # uvicorn's and Sanic's loggers print through their own text handlers: hand their records to ours,
        # so every line of the process parses.
        for name in OWN_HANDLER_LOGGERS:
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True
    root.setLevel(level.upper())

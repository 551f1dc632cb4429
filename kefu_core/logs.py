"""Logging that keeps personal data out: emails and phone numbers redacted in every record of the process.

Installed as the log-record factory, so it covers every logger (ours, Rasa's, Sanic's, uvicorn's) whatever
handler formats the record later. Standard library only: the Rasa environment imports it too.
"""

from __future__ import annotations

import logging
import re
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


def configure(level: str) -> None:
    """Redaction on, and records at `level` and above from every logger to stderr (once per process)."""
    install_redaction()
    root = logging.getLogger()
    if not any(getattr(h, "_kefu", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._kefu = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())

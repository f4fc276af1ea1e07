"""Structured logs: one event per line as key=value (console) or JSON; never secrets.

No field can break a line: the console formatter escapes control, format and separator
characters in the whole formatted line (`storage.logsafe`), and JSON escapes them itself
(`json.dumps` writes every non-ASCII character as `\\uXXXX`).

Every line names the process that wrote it: with `serve --workers N`, the worker."""

from __future__ import annotations

import json
import logging
import sys
from typing import Literal

from storage.logsafe import EscapingFormatter


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str, style: Literal["json", "console"]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if style == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            EscapingFormatter(
                "%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s", "%H:%M:%S"
            )
        )
    root = logging.getLogger("icefloe")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # Other libraries' records (uvicorn's among them) go through the same formatter, instead
    # of Python's last-resort handler, which writes a message as it is.
    logging.getLogger().handlers[:] = [handler]

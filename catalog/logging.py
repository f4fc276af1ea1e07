"""Structured logs: one event per line as key=value (console) or JSON; never secrets.

No field can break a line: the console formatter escapes control, format and separator
characters in the whole formatted line (`storage.logsafe`), and JSON escapes them itself
(`json.dumps` writes every non-ASCII character as `\\uXXXX`).

Every line names the process that wrote it: with `serve --workers N`, the worker."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import typing
from collections.abc import Callable
from typing import Literal

from storage.logsafe import EscapingFormatter, escape


def _json_string(text: str) -> str:
    """`text` as `JsonFormatter` writes it inside the quotes of its "message" field."""
    return json.dumps(text)[1:-1]


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


_MARK = "@@icefloe-message@@"


class LineWriter:
    """One logger's INFO lines written the way `handler` would write them, without a
    `LogRecord` per line: what the formatter puts around a message (time, level, logger,
    process) is rendered once a second from a template record, and each line is that text
    with the message put in (escaped as the formatter escapes it), written to the handler's
    stream in one write under the handler's lock. The access line is written on every request,
    and a record, its formatting and `Handler.handle` were most of its cost.

    Both formats show the time to the second, so one rendering serves a whole second. Used
    only while `handler` is the only one in the way (`serves`); otherwise the caller logs as
    usual, so a handler or filter added later (a test's, an embedding application's) sees
    every line."""

    def __init__(
        self,
        handler: logging.StreamHandler[typing.TextIO],
        logger: str,
        quote: Callable[[str], str],
    ) -> None:
        self.handler = handler
        self.logger = logger
        self.quote = quote
        self._until = 0.0
        self._pid = 0
        self._around: tuple[str, str] | None = None

    def write(self, message: str) -> bool:
        """Write `message`'s line; False when the format has no place for it (log it)."""
        now = time.time()
        if now >= self._until or os.getpid() != self._pid:
            self._render(now)
        if self._around is None:
            return False
        head, tail = self._around
        line = head + self.quote(message) + tail + self.handler.terminator
        with self.handler.lock:  # type: ignore[union-attr]
            stream = self.handler.stream
            stream.write(line)
            stream.flush()
        return True

    def _render(self, now: float) -> None:
        template = logging.LogRecord(self.logger, logging.INFO, __file__, 0, _MARK, None, None)
        template.created = now
        rendered = self.handler.format(template)
        head, found, tail = rendered.partition(self.quote(_MARK))
        self._around = (head, tail) if found else None
        self._pid = os.getpid()
        self._until = float(int(now) + 1)


_writers: dict[str, LineWriter] = {}


def line_writer(logger: logging.Logger) -> LineWriter | None:
    """The fast writer for `logger`'s lines, while the handler `configure_logging` set is the
    only thing between it and the stream (no handler, filter or level of anyone else's)."""
    writer = _writers.get(logger.name)
    if writer is None or logger.handlers or logger.filters or not logger.propagate:
        return None
    root = logger.parent
    if root is None or root.handlers != [writer.handler] or root.filters or writer.handler.filters:
        return None
    return writer


def configure_logging(level: str, style: Literal["json", "console"]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    quote: Callable[[str], str]
    if style == "json":
        handler.setFormatter(JsonFormatter())
        quote = _json_string
    else:
        handler.setFormatter(
            EscapingFormatter(
                "%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s", "%H:%M:%S"
            )
        )
        quote = escape
    root = logging.getLogger("icefloe")
    root.handlers[:] = [handler]
    _writers["icefloe.access"] = LineWriter(handler, "icefloe.access", quote)
    root.setLevel(level.upper())
    root.propagate = False
    # Other libraries' records (uvicorn's among them) go through the same formatter, instead
    # of Python's last-resort handler, which writes a message as it is.
    logging.getLogger().handlers[:] = [handler]

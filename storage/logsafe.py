"""Log lines a client cannot break: every character that would end a line, move the cursor or
reorder what a terminal shows is written as an escape, whatever the log call put in its fields.

Escaping happens once, in the formatter, after the record is formatted: a path, header, name or
error message that echoes a request is safe without each log call remembering to quote it. A
client's `%0a` would otherwise start a line of its own that reads like a genuine event.
"""

from __future__ import annotations

import logging
import unicodedata

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls (C0, DEL, C1), format characters (bidi overrides, zero-width), lone surrogates and
the line and paragraph separators U+2028/U+2029."""
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """`text` with each such character as `\\n`, `\\xNN` or `\\uNNNN`; the rest as it is."""
    if text.isprintable():  # the common case: one C-level scan, no copy
        return text
    return "".join(
        _escaped(char) if unicodedata.category(char) in _ESCAPED_CATEGORIES else char
        for char in text
    )


def _escaped(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    if point < 0x10000:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


class EscapingFormatter(logging.Formatter):
    """A line formatter whose output is always one line: a traceback is kept, as escapes."""

    def format(self, record: logging.LogRecord) -> str:
        return escape(super().format(record))

"""The access line's writer (catalog/logging.py `LineWriter`): the line it writes is the line
the configured handler's formatter writes for the same message, in both log formats, and it
steps aside whenever anything else stands between the access logger and the stream."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Literal

import pytest

from catalog.logging import configure_logging, line_writer

MESSAGE = 'event=request method=GET path=/v1/a\nb\u202e\u00e9\u4e2d"q\\ status=200 ms=0.4'


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The loggers as they were, afterwards."""
    root = logging.getLogger("icefloe")
    saved = (root.handlers[:], root.level, root.propagate, logging.getLogger().handlers[:])
    yield io.StringIO()
    root.handlers[:], root.level, root.propagate, logging.getLogger().handlers[:] = saved


def configure(style: Literal["console", "json"], stream: io.StringIO) -> None:
    """`configure_logging`, its handler then writing to `stream`."""
    configure_logging("INFO", style)
    handler = logging.getLogger("icefloe").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


@pytest.mark.parametrize("style", ["console", "json"])
def test_a_written_line_is_the_formatters_line(
    stream: io.StringIO, style: Literal["console", "json"]
) -> None:
    configure(style, stream)
    access = logging.getLogger("icefloe.access")
    writer = line_writer(access)
    assert writer is not None
    assert writer.write(MESSAGE)
    access.info("%s", MESSAGE)
    written, logged = stream.getvalue().splitlines()
    if written[:8] != logged[:8] and style == "console":  # the second turned in between
        pytest.skip("the clock's second changed between the two lines")
    assert written == logged
    assert "\n" not in written and "\u202e" not in written


def test_another_handler_gets_every_line(stream: io.StringIO) -> None:
    configure("console", stream)
    access = logging.getLogger("icefloe.access")
    extra = logging.StreamHandler(io.StringIO())
    access.addHandler(extra)
    try:
        assert line_writer(access) is None
    finally:
        access.removeHandler(extra)
    assert line_writer(access) is not None
    root = logging.getLogger("icefloe")
    root.addHandler(extra)
    try:
        assert line_writer(access) is None
    finally:
        root.removeHandler(extra)


def test_without_configured_logging_there_is_no_writer() -> None:
    assert line_writer(logging.getLogger("icefloe.unconfigured")) is None

"""moto's STS on 127.0.0.1, recording the AssumeRole requests it receives.

moto answers AssumeRole with working-looking credentials but keeps no exact record of the
request (only an expiry), and it does not enforce session policies. The recording lets a test
assert the request the catalog sent, parameter by parameter, as STS received it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RecordingSts:
    def __init__(self) -> None:
        self.assume_role: list[dict[str, str]] = []
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", 0, self._recording(app), True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> RecordingSts:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _recording(self, app: Wsgi) -> Wsgi:
        def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(raw)
            params = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            if params.get("Action") == "AssumeRole":
                self.assume_role.append(params)
            return app(environ, start_response)

        return wrapped

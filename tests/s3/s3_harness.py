"""Shared test harness for the S3 endpoint: endpoints, clients, an in-thread uvicorn.

Kept out of conftest.py so test modules can import it by a name no other conftest uses.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import uvicorn
from botocore.config import Config
from s3_raw import RawS3

from storage.s3 import S3Application

ROOT_KEY = "ICEFLOEROOTKEY000001"
ROOT_SECRET = "icefloe-root-secret-for-tests-only-000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Endpoint:
    url: str
    access_key: str
    secret_key: str
    app: S3Application | None
    data_dir: Path | None
    verify: bool | str = True

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(
        self,
        *,
        addressing: str = "path",
        checksum: str = "when_supported",
        access_key: str | None = None,
        secret_key: str | None = None,
        token: str | None = None,
        region: str = "auto",
    ) -> Any:
        config = Config(
            s3={"addressing_style": addressing},
            request_checksum_calculation=checksum,
            response_checksum_validation=checksum,
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            aws_session_token=token,
            region_name=region,
            config=config,
            verify=self.verify,
        )
        if addressing == "virtual":
            _route_virtual_hosts_to_loopback(client)
        return client

    def raw(
        self,
        *,
        token: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> RawS3:
        return RawS3(self.url, access_key or self.access_key, secret_key or self.secret_key, token)


def _route_virtual_hosts_to_loopback(client: Any) -> None:
    """`bucket.localhost` does not resolve here: send to 127.0.0.1, keep the Host header."""

    def before_send(request: Any, **_: Any) -> None:
        parts = request.url.split("/", 3)
        netloc = parts[2]
        host, _, port = netloc.rpartition(":")
        if host.endswith(".localhost"):
            request.headers["Host"] = netloc
            parts[2] = f"127.0.0.1:{port}"
            request.url = "/".join(parts)

    client.meta.events.register_first("before-send.s3", before_send)


class ThreadedUvicorn:
    """Our app served by uvicorn on its own thread and event loop."""

    def __init__(self, app: Any, *, ssl_files: tuple[str, str] | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        kwargs: dict[str, Any] = {}
        if ssl_files is not None:
            kwargs = {"ssl_certfile": ssl_files[0], "ssl_keyfile": ssl_files[1]}
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", **kwargs
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ThreadedUvicorn:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def self_signed_cert(directory: Path) -> tuple[str, str] | None:
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return str(cert), str(key)

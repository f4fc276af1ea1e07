"""Real servers on 127.0.0.1 for the S3 endpoint tests: ours (HTTP and HTTPS) and moto's."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from s3_harness import (
    ROOT_KEY,
    ROOT_SECRET,
    Endpoint,
    ThreadedUvicorn,
    free_port,
    self_signed_cert,
)

from storage.s3 import S3Application, S3ServerConfig, create_s3_app


@pytest.fixture(scope="session")
def s3_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Application]:
    data_dir = tmp_path_factory.mktemp("s3-data")
    app = create_s3_app(
        S3ServerConfig(
            data_dir=data_dir,
            root_access_key_id=ROOT_KEY,
            root_secret_access_key=ROOT_SECRET,
            max_object_size=256 * 1024 * 1024,
        )
    )
    yield app
    app.close()


@pytest.fixture(scope="session")
def s3(s3_app: S3Application) -> Iterator[Endpoint]:
    with ThreadedUvicorn(s3_app) as server:
        yield Endpoint(
            f"http://127.0.0.1:{server.port}",
            ROOT_KEY,
            ROOT_SECRET,
            s3_app,
            s3_app.config.data_dir,
        )


@pytest.fixture(scope="session")
def s3_tls(s3_app: S3Application, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """The same app over HTTPS: boto3 only sends trailing checksums over TLS."""
    files = self_signed_cert(tmp_path_factory.mktemp("tls"))
    if files is None:
        pytest.skip("openssl is not available to make a test certificate")
    with ThreadedUvicorn(s3_app, ssl_files=files) as server:
        yield Endpoint(
            f"https://127.0.0.1:{server.port}",
            ROOT_KEY,
            ROOT_SECRET,
            s3_app,
            s3_app.config.data_dir,
            verify=files[0],
        )


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Endpoint]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield Endpoint(f"http://127.0.0.1:{port}", "testing", "testing", None, None)
    server.stop()


@pytest.fixture
def new_bucket(s3: Endpoint) -> Callable[[], str]:
    client = s3.client()

    def make() -> str:
        name = f"t-{uuid.uuid4().hex[:20]}"
        client.create_bucket(Bucket=name)
        return name

    return make


@pytest.fixture
def bucket(new_bucket: Callable[[], str]) -> str:
    return new_bucket()

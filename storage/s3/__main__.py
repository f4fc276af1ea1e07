"""`python -m storage.s3`: serve the endpoint on its own (development, tests, benchmarks)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvicorn

from storage.logsafe import EscapingFormatter
from storage.s3.app import create_s3_app
from storage.s3.config import (
    DEFAULT_MAX_OBJECT_SIZE,
    DEFAULT_VIRTUAL_HOST_DOMAINS,
    S3ServerConfig,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m storage.s3", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--access-key-id", default=None)
    parser.add_argument("--secret-access-key", default=None)
    parser.add_argument("--region", default="auto")
    parser.add_argument("--max-object-size", type=int, default=DEFAULT_MAX_OBJECT_SIZE)
    parser.add_argument(
        "--virtual-host-domain",
        action="append",
        default=None,
        help="serve <bucket>.<domain> as virtual-host style (default: localhost)",
    )
    parser.add_argument("--no-fsync", action="store_true", help="skip fsync (tests only)")
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("%(asctime)s %(message)s"))
    logging.basicConfig(level=args.log_level.upper(), handlers=[handler])
    config = S3ServerConfig(
        data_dir=args.data_dir,
        root_access_key_id=args.access_key_id,
        root_secret_access_key=args.secret_access_key,
        region=args.region,
        max_object_size=args.max_object_size,
        virtual_host_domains=tuple(args.virtual_host_domain or DEFAULT_VIRTUAL_HOST_DOMAINS),
        fsync=not args.no_fsync,
    )
    app = create_s3_app(config)
    keys = app.root_credentials
    print(f"icefloe S3 endpoint: http://{args.host}:{args.port}", flush=True)
    print(f"region: {config.region}", flush=True)
    print(f"root access key id: {keys.access_key_id}", flush=True)
    if keys.stored_at is not None:
        state = "generated and stored" if keys.generated else "stored"
        print(f"root secret access key: {state} in {keys.stored_at} (mode 0600)", flush=True)
    else:
        print("root secret access key: as configured", flush=True)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

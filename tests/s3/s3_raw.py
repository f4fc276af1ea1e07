"""A small, independent SigV4 client for tests that must craft or tamper with requests.

Written separately from the server's signer on purpose: a test that signed with the
server's own code would agree with any bug in it.  Also builds aws-chunked bodies
(signed chunks, trailers), which no installed SDK sends over plain HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def _h(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _key(secret: str, date: str, region: str, service: str) -> bytes:
    return _h(_h(_h(_h(("AWS4" + secret).encode(), date), region), service), "aws4_request")


def _enc(text: str, safe: str = "") -> str:
    return quote(text, safe=safe + "-_.~")


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def code(self) -> str | None:
        if not self.body.startswith(b"<?xml") and not self.body.startswith(b"<Error"):
            return None
        try:
            root = ElementTree.fromstring(self.body)
        except ElementTree.ParseError:
            return None
        found = root.find("Code")
        return None if found is None else found.text


@dataclass
class RawS3:
    endpoint: str
    access_key: str
    secret_key: str
    token: str | None = None
    region: str = "auto"
    service: str = "s3"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def netloc(self) -> str:
        return urlsplit(self.endpoint).netloc

    def sign(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        payload_hash: str,
        when: datetime,
    ) -> tuple[dict[str, str], str, str]:
        amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        date = amz_date[:8]
        headers = {k.lower(): v for k, v in headers.items()}
        headers.setdefault("host", self.netloc)
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = payload_hash
        if self.token:
            headers["x-amz-security-token"] = self.token
        names = sorted(headers)
        canonical_headers = "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names)
        signed = ";".join(names)
        cq = "&".join(sorted(f"{_enc(k)}={_enc(v)}" for k, v in query))
        creq = "\n".join([method, path, cq, canonical_headers, signed, payload_hash])
        scope = f"{date}/{self.region}/{self.service}/aws4_request"
        sts = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()]
        )
        key = _key(self.secret_key, date, self.region, self.service)
        signature = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        )
        return headers, signature, scope

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        payload_hash: str | None = None,
        when: datetime | None = None,
        signed: bool = True,
        mutate: object = None,
    ) -> Resp:
        query = query or []
        headers = dict(headers or {})
        when = when or datetime.now(UTC)
        if signed:
            headers, _, _ = self.sign(
                method,
                path,
                query,
                headers,
                payload_hash or hashlib.sha256(body).hexdigest(),
                when,
            )
        if callable(mutate):
            mutate(headers)
        return self.send(method, path, query, headers, body)

    def send(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> Resp:
        target = path
        if query:
            target += "?" + "&".join(f"{_enc(k)}={_enc(v)}" for k, v in query)
        conn = http.client.HTTPConnection(self.netloc, timeout=30)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            sent = {k.lower() for k in headers}
            for name, value in headers.items():
                conn.putheader(name, value)
            if "content-length" not in sent and "transfer-encoding" not in sent:
                conn.putheader("content-length", str(len(body)))
            if "host" not in sent:
                conn.putheader("host", self.netloc)
            conn.endheaders()
            if body:
                conn.send(body)
            response = conn.getresponse()
            data = response.read()
            return Resp(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            conn.close()

    def presign(
        self,
        method: str,
        path: str,
        *,
        expires: int = 300,
        when: datetime | None = None,
        query: list[tuple[str, str]] | None = None,
    ) -> tuple[str, list[tuple[str, str]]]:
        when = when or datetime.now(UTC)
        amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        scope = f"{amz_date[:8]}/{self.region}/{self.service}/aws4_request"
        params = [
            *list(query or []),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"{self.access_key}/{scope}"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if self.token:
            params.append(("X-Amz-Security-Token", self.token))
        cq = "&".join(sorted(f"{_enc(k)}={_enc(v)}" for k, v in params))
        creq = "\n".join([method, path, cq, f"host:{self.netloc}\n", "host", "UNSIGNED-PAYLOAD"])
        sts = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()]
        )
        key = _key(self.secret_key, amz_date[:8], self.region, self.service)
        params.append(("X-Amz-Signature", hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()))
        return path, params

    # --- aws-chunked ------------------------------------------------------------------

    def put_chunked(
        self,
        path: str,
        data: bytes,
        *,
        mode: str,
        chunk_size: int = 64 * 1024,
        trailer: tuple[str, str] | None = None,
        corrupt_chunk: int | None = None,
        corrupt_signature: int | None = None,
        corrupt_trailer_signature: bool = False,
        decoded_length: int | None = None,
        headers: dict[str, str] | None = None,
        query: list[tuple[str, str]] | None = None,
    ) -> Resp:
        """PUT `data` as aws-chunked in `mode` (one of the STREAMING-* payload hashes)."""
        when = datetime.now(UTC)
        base = {
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(
                len(data) if decoded_length is None else decoded_length
            ),
        }
        base.update(headers or {})
        if trailer is not None:
            base["x-amz-trailer"] = trailer[0]
        chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
        # The body length must be known before signing: build it with placeholder sigs first.
        signed = mode.startswith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        amz_date = when.strftime("%Y%m%dT%H%M%SZ")

        def build(seed: str, scope: str, key: bytes) -> bytes:
            previous = seed
            out: list[bytes] = []
            for index, chunk in enumerate(chunks):
                payload = chunk
                if signed:
                    sts = "\n".join(
                        [
                            "AWS4-HMAC-SHA256-PAYLOAD",
                            amz_date,
                            scope,
                            previous,
                            EMPTY_SHA,
                            hashlib.sha256(chunk).hexdigest(),
                        ]
                    )
                    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
                    previous = sig
                    if corrupt_signature == index:
                        sig = ("0" if sig[0] != "0" else "1") + sig[1:]
                    header = f"{len(chunk):x};chunk-signature={sig}\r\n".encode()
                else:
                    header = f"{len(chunk):x}\r\n".encode()
                if corrupt_chunk == index and payload:
                    payload = bytes([payload[0] ^ 0xFF]) + payload[1:]
                out.append(header)
                if chunk:
                    out.append(payload + b"\r\n")
            if trailer is not None:
                line = f"{trailer[0]}:{trailer[1]}"
                out.append((line + "\r\n").encode())
                if signed:
                    digest = hashlib.sha256((line + "\n").encode()).hexdigest()
                    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous, digest])
                    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
                    if corrupt_trailer_signature:
                        sig = ("0" if sig[0] != "0" else "1") + sig[1:]
                    out.append(f"x-amz-trailer-signature:{sig}\r\n".encode())
            out.append(b"\r\n")
            return b"".join(out)

        placeholder = build("0" * 64, "s", b"k")
        base["content-length"] = str(len(placeholder))
        headers_signed, seed, scope = self.sign("PUT", path, query or [], base, mode, when)
        key = _key(self.secret_key, amz_date[:8], self.region, self.service)
        body = build(seed, scope, key)
        assert len(body) == len(placeholder)
        return self.send("PUT", path, query or [], headers_signed, body)


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def past(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)

"""Decoding `Content-Encoding: aws-chunked` request bodies, verifying as we go.

Three framings reach us: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (each chunk signed,
signatures chained from the request's), its -TRAILER variant (plus signed trailing
checksum headers), and STREAMING-UNSIGNED-PAYLOAD-TRAILER (plain chunks, then a
trailing checksum: what boto3 sends for PutObject/UploadPart by default).  The decoder
is incremental so bodies of any size stream through in bounded memory.
"""

from __future__ import annotations

import hashlib
import hmac

from storage.s3 import errors
from storage.s3.sigv4 import ChunkSigner, chunk_string_to_sign, sign, trailer_string_to_sign

_MAX_LINE = 4096
_MAX_TRAILER_LINES = 16
_HEAD, _DATA, _DATA_CRLF, _TRAILER, _DONE = range(5)


class AwsChunkedDecoder:
    def __init__(self, signer: ChunkSigner | None, *, allow_trailer: bool) -> None:
        self._signer = signer
        self._allow_trailer = allow_trailer
        self._previous = signer.seed_signature if signer else ""
        self._state = _HEAD
        self._buffer = bytearray()
        self._remaining = 0
        self._chunk_signature: str | None = None
        self._chunk_hash: hashlib._Hash | None = None
        self.trailers: dict[str, str] = {}
        self._trailer_signature: str | None = None
        self._trailer_lines: list[str] = []

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> list[bytes | memoryview]:
        """Consume raw body bytes; return the decoded payload bytes they contained."""
        out: list[bytes | memoryview] = []
        if self._state == _DONE:
            if data:
                raise errors.IncompleteBody("Unexpected data after the final chunk.")
            return out
        self._buffer += data
        pos = 0
        buf = self._buffer
        view = memoryview(buf)
        try:
            while pos < len(buf) and self._state != _DONE:
                if self._state == _DATA:
                    take = min(self._remaining, len(buf) - pos)
                    piece = bytes(view[pos : pos + take])
                    if self._chunk_hash is not None:
                        self._chunk_hash.update(piece)
                    out.append(piece)
                    pos += take
                    self._remaining -= take
                    if self._remaining == 0:
                        self._end_chunk()
                        self._state = _DATA_CRLF
                    continue
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if len(buf) - pos > _MAX_LINE:
                        raise errors.InvalidArgument("Malformed aws-chunked encoding.")
                    break
                line = bytes(view[pos:end])
                pos = end + 2
                if self._state == _DATA_CRLF:
                    if line:
                        raise errors.IncompleteBody("Chunk data is longer than its declared size.")
                    self._state = _HEAD
                elif self._state == _HEAD:
                    self._start_chunk(line)
                else:
                    self._trailer_line(line)
        finally:
            view.release()
        del self._buffer[:pos]
        return out

    def finish(self) -> None:
        if self._state != _DONE:
            raise errors.IncompleteBody("The aws-chunked body ended before its final chunk.")

    def _start_chunk(self, line: bytes) -> None:
        size_text, _, extension = line.partition(b";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise errors.InvalidArgument("Malformed aws-chunked chunk header.") from None
        if size < 0:
            raise errors.InvalidArgument("Malformed aws-chunked chunk header.")
        signature: str | None = None
        if extension:
            name, _, value = extension.partition(b"=")
            if name.strip() != b"chunk-signature":
                raise errors.InvalidArgument("Malformed aws-chunked chunk extension.")
            signature = value.strip().decode("latin-1")
        if self._signer is not None and signature is None:
            raise errors.SignatureDoesNotMatch("A chunk of a signed stream has no signature.")
        self._chunk_signature = signature
        self._chunk_hash = hashlib.sha256() if self._signer is not None else None
        if size == 0:
            self._end_chunk()
            self._state = _TRAILER
        else:
            self._remaining = size
            self._state = _DATA

    def _end_chunk(self) -> None:
        if self._signer is None or self._chunk_hash is None:
            return
        expected = sign(
            self._signer.key,
            chunk_string_to_sign(
                self._signer.amz_date,
                self._signer.scope,
                self._previous,
                self._chunk_hash.hexdigest(),
            ),
        )
        if not hmac.compare_digest(expected, self._chunk_signature or ""):
            raise errors.SignatureDoesNotMatch("A chunk signature does not match.")
        self._previous = expected

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._finish_trailers()
            self._state = _DONE
            return
        if not self._allow_trailer or len(self._trailer_lines) >= _MAX_TRAILER_LINES:
            raise errors.InvalidArgument("Unexpected trailing headers in aws-chunked body.")
        text = line.decode("latin-1")
        name, sep, value = text.partition(":")
        if not sep:
            raise errors.InvalidArgument("Malformed trailing header.")
        name = name.strip().lower()
        if name == "x-amz-trailer-signature":
            self._trailer_signature = value.strip()
        else:
            self.trailers[name] = value.strip()
            self._trailer_lines.append(f"{name}:{value.strip()}\n")

    def _finish_trailers(self) -> None:
        if self._signer is None or not self._allow_trailer:
            return
        digest = hashlib.sha256("".join(self._trailer_lines).encode("latin-1")).hexdigest()
        expected = sign(
            self._signer.key,
            trailer_string_to_sign(
                self._signer.amz_date, self._signer.scope, self._previous, digest
            ),
        )
        if not hmac.compare_digest(expected, self._trailer_signature or ""):
            raise errors.SignatureDoesNotMatch("The trailer signature does not match.")

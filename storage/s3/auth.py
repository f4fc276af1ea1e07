"""Authenticating requests: SigV4 in the Authorization header or in a presigned query.

The result is a Principal (root, or a temporary grant) plus the PayloadContract that
says how the body must be verified while it streams in: a signed SHA-256, unsigned,
or aws-chunked with chunk signatures and/or trailing checksums.  The header signature
only vouches for the body through that contract, so the body pipeline must honour it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.s3 import errors
from storage.s3.credentials import CredentialAuthority, SessionGrant
from storage.s3.request import S3Request
from storage.s3.sigv4 import (
    ALGORITHM,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    ChunkSigner,
    CredentialScope,
    canonical_header_value,
    canonical_query,
    canonical_request,
    canonical_uri_candidates,
    sign,
    signing_key,
    string_to_sign,
)

MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Principal:
    access_key_id: str
    grant: SessionGrant | None

    @property
    def is_root(self) -> bool:
        return self.grant is None


@dataclass(frozen=True)
class PayloadContract:
    """How the request body must be checked. `mode` is one of the x-amz-content-sha256 forms."""

    mode: str
    sha256: str | None = None
    signer: ChunkSigner | None = None

    @property
    def chunked(self) -> bool:
        return self.mode.startswith("STREAMING-")


@dataclass(frozen=True)
class _Claim:
    scope: CredentialScope
    amz_date: str
    signed_headers: tuple[str, ...]
    signature: str
    payload_hash: str
    presigned: bool
    session_token: str | None
    expires: int | None


def _parse_amz_date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, _AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


class Authenticator:
    def __init__(
        self,
        authority: CredentialAuthority,
        regions: frozenset[str],
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._authority = authority
        self._regions = regions
        self._clock = clock or (lambda: datetime.now(UTC))

    def authenticate(self, request: S3Request) -> tuple[Principal, PayloadContract]:
        authorization = request.headers.get("authorization")
        if authorization is not None:
            claim = self._claim_from_header(request, authorization)
        elif "X-Amz-Algorithm" in request.query or "X-Amz-Signature" in request.query:
            claim = self._claim_from_query(request)
        elif "Signature" in request.query and "AWSAccessKeyId" in request.query:
            raise errors.InvalidRequest(
                "The authorization mechanism you have provided is not supported. "
                "Please use AWS4-HMAC-SHA256."
            )
        else:
            raise errors.AccessDenied("Anonymous access is not allowed.")
        self._check_scope(claim)
        self._check_time(claim)
        principal, secret = self._resolve_key(claim)
        key = signing_key(secret, claim.scope.date, claim.scope.region, claim.scope.service)
        self._check_signature(request, claim, key)
        return principal, self._contract(claim, key)

    # --- parsing ------------------------------------------------------------------------

    def _claim_from_header(self, request: S3Request, authorization: str) -> _Claim:
        algorithm, _, rest = authorization.strip().partition(" ")
        if algorithm != ALGORITHM:
            if algorithm == "AWS":
                raise errors.InvalidRequest(
                    "The authorization mechanism you have provided is not supported. "
                    "Please use AWS4-HMAC-SHA256."
                )
            raise errors.AuthorizationHeaderMalformed("Unsupported authorization algorithm.")
        fields: dict[str, str] = {}
        for item in rest.split(","):
            name, sep, value = item.strip().partition("=")
            if sep:
                fields[name.strip()] = value.strip()
        scope = CredentialScope.parse(fields.get("Credential", ""))
        signed = fields.get("SignedHeaders")
        signature = fields.get("Signature")
        if scope is None or not signed or not signature:
            raise errors.AuthorizationHeaderMalformed()
        amz_date = request.headers.get("x-amz-date") or ""
        if not amz_date:
            raise errors.AccessDenied("AWS authentication requires a valid x-amz-date header.")
        payload_hash = request.headers.get("x-amz-content-sha256")
        if payload_hash is None:
            raise errors.InvalidRequest(
                "Missing required header for this request: x-amz-content-sha256"
            )
        return _Claim(
            scope=scope,
            amz_date=amz_date,
            signed_headers=tuple(signed.split(";")),
            signature=signature,
            payload_hash=payload_hash,
            presigned=False,
            session_token=request.headers.get("x-amz-security-token"),
            expires=None,
        )

    def _claim_from_query(self, request: S3Request) -> _Claim:
        q = request.query
        if q.get("X-Amz-Algorithm") != ALGORITHM:
            raise errors.AuthorizationQueryParametersError(
                "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'."
            )
        scope = CredentialScope.parse(q.get("X-Amz-Credential", ""))
        signed = q.get("X-Amz-SignedHeaders")
        signature = q.get("X-Amz-Signature")
        amz_date = q.get("X-Amz-Date", "")
        expires_text = q.get("X-Amz-Expires", "")
        if scope is None or not signed or not signature or not amz_date or not expires_text:
            raise errors.AuthorizationQueryParametersError(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                "and X-Amz-Expires parameters."
            )
        try:
            expires = int(expires_text)
        except ValueError:
            raise errors.AuthorizationQueryParametersError(
                "X-Amz-Expires should be a number."
            ) from None
        if expires < 0 or expires > MAX_PRESIGN_EXPIRES:
            raise errors.AuthorizationQueryParametersError(
                "X-Amz-Expires must be less than a week (in seconds) that is 604800."
            )
        return _Claim(
            scope=scope,
            amz_date=amz_date,
            signed_headers=tuple(signed.split(";")),
            signature=signature,
            payload_hash=request.headers.get("x-amz-content-sha256") or UNSIGNED_PAYLOAD,
            presigned=True,
            session_token=q.get("X-Amz-Security-Token"),
            expires=expires,
        )

    # --- checks -------------------------------------------------------------------------

    def _malformed(self, claim: _Claim, message: str) -> errors.S3Error:
        if claim.presigned:
            return errors.AuthorizationQueryParametersError(message)
        return errors.AuthorizationHeaderMalformed(message)

    def _check_scope(self, claim: _Claim) -> None:
        if claim.scope.service != "s3":
            raise self._malformed(
                claim, f"The service '{claim.scope.service}' is wrong; expecting 's3'."
            )
        if claim.scope.region not in self._regions:
            expected = sorted(self._regions)[0] if self._regions else "auto"
            raise self._malformed(
                claim,
                f"The authorization header is malformed; the region '{claim.scope.region}' "
                f"is wrong; expecting '{expected}'",
            )
        if "host" not in claim.signed_headers:
            raise self._malformed(claim, "The host header must be signed.")
        if not claim.amz_date.startswith(claim.scope.date) or len(claim.scope.date) != 8:
            raise self._malformed(
                claim, "The credential date does not match the date of the request."
            )

    def _check_time(self, claim: _Claim) -> None:
        when = _parse_amz_date(claim.amz_date)
        if when is None:
            raise self._malformed(claim, "X-Amz-Date must be in the ISO8601 basic format.")
        now = self._clock()
        if claim.presigned:
            assert claim.expires is not None
            if when - now > MAX_SKEW:
                raise errors.AccessDenied("Request is not valid yet")
            if now > when + timedelta(seconds=claim.expires):
                raise errors.AccessDenied("Request has expired")
        elif abs(now - when) > MAX_SKEW:
            raise errors.RequestTimeTooSkewed(
                RequestTime=claim.amz_date, ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ")
            )

    def _resolve_key(self, claim: _Claim) -> tuple[Principal, str]:
        access_key_id = claim.scope.access_key_id
        if claim.session_token is None:
            if hmac.compare_digest(access_key_id, self._authority.root_access_key_id):
                return Principal(access_key_id, None), self._authority.root_secret_access_key
            raise errors.InvalidAccessKeyId(AWSAccessKeyId=access_key_id)
        grant = self._authority.verify(access_key_id, claim.session_token)
        return Principal(access_key_id, grant), self._authority.temporary_secret(access_key_id)

    def _check_signature(self, request: S3Request, claim: _Claim, key: bytes) -> None:
        headers = [
            (name, canonical_header_value(request.headers.get_all(name)))
            for name in claim.signed_headers
        ]
        query = canonical_query(
            request.raw_query, exclude="X-Amz-Signature" if claim.presigned else None
        )
        scope = claim.scope.scope
        for uri in canonical_uri_candidates(request.raw_path):
            canonical = canonical_request(request.method, uri, query, headers, claim.payload_hash)
            expected = sign(key, string_to_sign(claim.amz_date, scope, canonical))
            if hmac.compare_digest(expected, claim.signature):
                return
        raise errors.SignatureDoesNotMatch(AWSAccessKeyId=claim.scope.access_key_id)

    def _contract(self, claim: _Claim, key: bytes) -> PayloadContract:
        mode = claim.payload_hash
        signer = ChunkSigner(key, claim.amz_date, claim.scope.scope, claim.signature)
        if mode in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
            return PayloadContract(mode, signer=signer)
        if mode in (STREAMING_UNSIGNED_TRAILER, UNSIGNED_PAYLOAD):
            return PayloadContract(mode)
        if mode.startswith("STREAMING-"):
            raise errors.NotImplementedError_(f"Payload signing mode {mode} is not supported.")
        if len(mode) != 64 or any(c not in "0123456789abcdef" for c in mode.lower()):
            raise errors.InvalidArgument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a SHA-256 digest."
            )
        return PayloadContract("sha256", sha256=mode.lower())

"""The S3 errors this endpoint can return, one class per wire code.

Handlers raise these; the application turns each into the XML error body and HTTP
status that S3 clients (and R2) use, so retry and error-mapping logic in SDKs
behaves exactly as against a real object store.
"""

from __future__ import annotations

from typing import ClassVar


class S3Error(Exception):
    """Base of every error that is reported to the client as an S3 error document."""

    code: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, **fields: str) -> None:
        self.message = message or self.default_message
        self.fields = fields
        super().__init__(f"{self.code}: {self.message}")

    def extra_headers(self) -> list[tuple[bytes, bytes]]:
        """Headers some errors add to the response (e.g. Content-Range on 416)."""
        return []


class InternalError(S3Error):
    pass


class AccessDenied(S3Error):
    code = "AccessDenied"
    status = 403
    default_message = "Access Denied"


class InvalidAccessKeyId(S3Error):
    code = "InvalidAccessKeyId"
    status = 403
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class SignatureDoesNotMatch(S3Error):
    code = "SignatureDoesNotMatch"
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class RequestTimeTooSkewed(S3Error):
    code = "RequestTimeTooSkewed"
    status = 403
    default_message = "The difference between the request time and the server's time is too large."


class AuthorizationHeaderMalformed(S3Error):
    code = "AuthorizationHeaderMalformed"
    status = 400
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(S3Error):
    code = "AuthorizationQueryParametersError"
    status = 400
    default_message = "Query-string authentication parameters are malformed."


class XAmzContentSHA256Mismatch(S3Error):
    code = "XAmzContentSHA256Mismatch"
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class BadDigest(S3Error):
    code = "BadDigest"
    status = 400
    default_message = "The Content-MD5 you specified did not match what we received."


class InvalidDigest(S3Error):
    code = "InvalidDigest"
    status = 400
    default_message = "The Content-MD5 you specified is not valid."


class InvalidRequest(S3Error):
    code = "InvalidRequest"
    status = 400
    default_message = "Invalid Request"


class InvalidArgument(S3Error):
    code = "InvalidArgument"
    status = 400
    default_message = "Invalid Argument"


class InvalidURI(S3Error):
    code = "InvalidURI"
    status = 400
    default_message = "Couldn't parse the specified URI."


class InvalidBucketName(S3Error):
    code = "InvalidBucketName"
    status = 400
    default_message = "The specified bucket is not valid."


class KeyTooLongError(S3Error):
    code = "KeyTooLongError"
    status = 400
    default_message = "Your key is too long"


class MetadataTooLarge(S3Error):
    code = "MetadataTooLarge"
    status = 400
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class MalformedXML(S3Error):
    code = "MalformedXML"
    status = 400
    default_message = (
        "The XML you provided was not well-formed or did not validate against our published schema."
    )


class IncompleteBody(S3Error):
    code = "IncompleteBody"
    status = 400
    default_message = "You did not provide the number of bytes specified by the Content-Length."


class EntityTooLarge(S3Error):
    code = "EntityTooLarge"
    status = 400
    default_message = "Your proposed upload exceeds the maximum allowed object size."


class EntityTooSmall(S3Error):
    code = "EntityTooSmall"
    status = 400
    default_message = "Your proposed upload is smaller than the minimum allowed object size."


class InvalidPart(S3Error):
    code = "InvalidPart"
    status = 400
    default_message = (
        "One or more of the specified parts could not be found. The part might not have been "
        "uploaded, or the specified entity tag might not have matched the part's entity tag."
    )


class InvalidPartOrder(S3Error):
    code = "InvalidPartOrder"
    status = 400
    default_message = "The list of parts was not in ascending order."


class MissingContentLength(S3Error):
    code = "MissingContentLength"
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


class NoSuchBucket(S3Error):
    code = "NoSuchBucket"
    status = 404
    default_message = "The specified bucket does not exist."


class NoSuchKey(S3Error):
    code = "NoSuchKey"
    status = 404
    default_message = "The specified key does not exist."


class NoSuchUpload(S3Error):
    code = "NoSuchUpload"
    status = 404
    default_message = (
        "The specified multipart upload does not exist. The upload ID might be invalid, or the "
        "multipart upload might have been aborted or completed."
    )


class MethodNotAllowed(S3Error):
    code = "MethodNotAllowed"
    status = 405
    default_message = "The specified method is not allowed against this resource."


class BucketAlreadyOwnedByYou(S3Error):
    code = "BucketAlreadyOwnedByYou"
    status = 409
    default_message = "Your previous request to create the named bucket succeeded and you own it."


class BucketNotEmpty(S3Error):
    code = "BucketNotEmpty"
    status = 409
    default_message = "The bucket you tried to delete is not empty."


class PreconditionFailed(S3Error):
    code = "PreconditionFailed"
    status = 412
    default_message = "At least one of the pre-conditions you specified did not hold"


class InvalidRange(S3Error):
    code = "InvalidRange"
    status = 416
    default_message = "The requested range is not satisfiable"

    def __init__(self, object_size: int) -> None:
        super().__init__(ActualObjectSize=str(object_size))
        self.object_size = object_size

    def extra_headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"content-range", f"bytes */{self.object_size}".encode())]


class NotImplementedError_(S3Error):  # noqa: N801 - must not shadow the builtin
    code = "NotImplemented"
    status = 501
    default_message = (
        "A header or query you provided implies functionality that is not implemented."
    )


class InvalidPartNumber(S3Error):
    code = "InvalidPartNumber"
    status = 416
    default_message = "The requested partnumber is not satisfiable"

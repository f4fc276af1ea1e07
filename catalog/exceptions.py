"""The catalog's errors: one class per meaning, each mapped once to a wire type and status.

The service raises these; `catalog.api.errors` turns them into the spec's ErrorModel.
The wire `type` names are the ones PyIceberg and the Java client map to their exceptions.
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base of every error the catalog reports to a client."""

    status: int = 500
    wire_type: str = "InternalServerError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(CatalogError):
    status = 400
    wire_type = "BadRequestException"


class ValidationFailed(BadRequest):
    """A request is well formed but asks for something the metadata rules forbid."""

    wire_type = "ValidationException"


class Unauthorized(CatalogError):
    status = 401
    wire_type = "NotAuthorizedException"


class Forbidden(CatalogError):
    status = 403
    wire_type = "ForbiddenException"


class NotFound(CatalogError):
    status = 404
    wire_type = "NotFoundException"


class NoSuchWarehouse(NotFound):
    wire_type = "NoSuchWarehouseException"


class NoSuchNamespace(NotFound):
    wire_type = "NoSuchNamespaceException"


class NoSuchTable(NotFound):
    wire_type = "NoSuchTableException"


class NoSuchView(NotFound):
    wire_type = "NoSuchViewException"


class NoSuchPlanId(NotFound):
    wire_type = "NoSuchPlanIdException"


class NoSuchPlanTask(NotFound):
    wire_type = "NoSuchPlanTaskException"


class NoSuchFunction(NotFound):
    wire_type = "NoSuchFunctionException"


class Conflict(CatalogError):
    status = 409
    wire_type = "AlreadyExistsException"


class AlreadyExists(Conflict):
    wire_type = "AlreadyExistsException"


class NamespaceNotEmpty(Conflict):
    wire_type = "NamespaceNotEmptyException"


class CommitFailed(Conflict):
    """The table or view changed under the commit; the client may refresh and retry."""

    wire_type = "CommitFailedException"


class IdempotencyKeyReused(CatalogError):
    """An Idempotency-Key was sent again with a different request."""

    status = 422
    wire_type = "IdempotencyKeyReusedException"


class PayloadTooLarge(CatalogError):
    status = 413
    wire_type = "PayloadTooLargeException"


class UnsupportedOperation(CatalogError):
    status = 406
    wire_type = "UnsupportedOperationException"


class PointerMoved(CommitFailed):
    """The compare-and-swap lost: another commit moved the pointer first."""


class CommitStateUnknown(CatalogError):
    """The outcome of a commit could not be determined (the database failed mid-commit)."""

    status = 500
    wire_type = "CommitStateUnknownException"


class StorageUnavailable(CatalogError):
    status = 503
    wire_type = "ServiceUnavailableException"


class SecretsUnavailable(StorageUnavailable):
    """A warehouse's sealed storage secrets cannot be opened here: this server's secrets key is
    missing, another than they were sealed with, or malformed."""


class DatabaseUnavailable(CatalogError):
    """The database could not be reached, or failed before a write was committed."""

    status = 503
    wire_type = "ServiceUnavailableException"


class IdempotencyKeyTaken(Exception):
    """Another request with the same Idempotency-Key finalized first; replay its response."""

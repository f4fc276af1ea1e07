"""HTTP only: parse, call the service, map errors to the spec's ErrorModel."""

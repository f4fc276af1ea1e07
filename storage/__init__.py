"""Object-store access for the catalog, and the embedded S3-compatible endpoint."""

"""Attacks on the catalog as a scoped caller would try them (issue 13), one module per rule."""

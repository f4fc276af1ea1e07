"""Catalog rules, independent of HTTP and of SQL."""

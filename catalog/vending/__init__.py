"""Credential vending: short-lived storage credentials scoped to one table's location."""

"""Reusable, non-definition code of the Dagster code location (unit-tested on its own)."""

"""Dagster definitions, one module per concern; ``build_definitions`` merges them."""

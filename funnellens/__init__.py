"""FunnelLens: the framework-free domain library (contract, ingest, stats, attribution, demo data)."""

__version__ = "0.1.0"

"""Ingestion: load → clean → sections → chunks → embed/store."""
from index import env as _env  # noqa: F401  (offline switches before any heavy import)

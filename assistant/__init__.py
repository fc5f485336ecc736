"""Answering: route → retrieve → select evidence → answer → cite."""
from index import env as _env  # noqa: F401  (offline switches before any heavy import)

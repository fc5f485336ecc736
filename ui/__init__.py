"""Interfaces: the CLI, the HTTP API, the Gradio chat and the embeddable widget."""
from index import env as _env  # noqa: F401  (offline switches before any heavy import)

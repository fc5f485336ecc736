"""Process-wide settings that keep every library offline and quiet.

Imported first by every package so that Chroma, Gradio, Hugging Face and tiktoken
never try to reach the network (the machines only reach package registries).
"""
from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "CHROMA_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def configure_offline() -> None:
    """Set the offline/telemetry switches unless the operator set them already."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


configure_offline()

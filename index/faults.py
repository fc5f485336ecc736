"""Named crash points for fault-injection tests (POLICYCHAT_FAULT=name ends the process there)."""
from __future__ import annotations

import os


def checkpoint(name: str) -> None:
    if os.environ.get("POLICYCHAT_FAULT") == name:
        os._exit(75)

"""Where the bundled policies live (what `policychat index` indexes when given no paths).
Every setting is in index/settings.py."""
from __future__ import annotations

from pathlib import Path

BUNDLED_CORPUS = Path(__file__).resolve().parent / "corpus"

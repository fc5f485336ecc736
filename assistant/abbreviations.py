"""Abbreviations users type that policies spell out ("DPO"): spelled out before embedding.

The list is data (assistant/data/abbreviations.json); the embedding model reads the expansion.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "abbreviations.json"


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], re.Pattern]:
    table = {k: v for k, v in json.loads(DATA.read_text(encoding="utf-8")).items() if not k.startswith("_")}
    return table, re.compile(r"(?i)\b(" + "|".join(re.escape(k) for k in table) + r")\b")


def expand_abbreviations(text: str) -> str:
    """"who is the DPO" → "who is the data protection officer (DPO)"."""
    table, pattern = _table()
    return pattern.sub(lambda m: f"{table[m.group(1).lower()]} ({m.group(1)})", text)

"""Which split a gold or paraphrase item belongs to: `dev` (tune on it) or `test` (report on it)."""
from __future__ import annotations

from collections.abc import Iterable

SPLITS = ("dev", "test")


def split_of(item: dict) -> str:
    """The item's split; an item written before the split existed counts as dev."""
    split = item.get("split", "dev")
    if split not in SPLITS:
        raise ValueError(f"item {item.get('id')!r}: unknown split {split!r} (expected one of {SPLITS})")
    return split


def select(items: Iterable[dict], split: str | None) -> list[dict]:
    """The items of one split, in order; `None` or "all" keeps every item."""
    if split in (None, "all"):
        return list(items)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (expected one of {SPLITS} or 'all')")
    return [it for it in items if split_of(it) == split]

"""The gold dev/test split: reproducible, stratified by kind, and read by eval.splits."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.runner import load_gold
from eval.split_gold import SEED, assign_splits, with_splits
from eval.splits import select, split_of

GOLD = Path(__file__).resolve().parents[1] / "eval" / "gold.jsonl"
LINES = [line for line in GOLD.read_text(encoding="utf-8").split("\n") if line.strip()]


def test_file_holds_the_seeded_split():
    assert with_splits(LINES, SEED) == LINES, "rerun `python -m eval.split_gold`"


def test_split_ignores_file_order_and_depends_on_the_seed():
    items = [json.loads(line) for line in LINES]
    assert assign_splits(items) == assign_splits(list(reversed(items)))
    assert assign_splits(items, seed=SEED + 1) != assign_splits(items)


def test_every_kind_with_two_items_is_in_both_splits_and_dev_is_about_55_percent():
    items = load_gold()
    per_kind = Counter((it["kind"], split_of(it)) for it in items)
    for kind, n in Counter(it["kind"] for it in items).items():
        if n >= 2:
            assert per_kind[(kind, "dev")] and per_kind[(kind, "test")], kind
    share = len(select(items, "dev")) / len(items)
    assert 0.50 <= share <= 0.60, share


def test_select_partitions_the_items_in_order():
    items = load_gold()
    dev, test = select(items, "dev"), select(items, "test")
    assert len(dev) + len(test) == len(items)
    assert {it["id"] for it in dev}.isdisjoint(it["id"] for it in test)
    assert [it["id"] for it in dev] == [it["id"] for it in items if it["split"] == "dev"]
    assert select(items, "all") == items == select(items, None)


def test_bad_split_names_are_rejected():
    with pytest.raises(ValueError, match="unknown split"):
        select([], "train")
    with pytest.raises(ValueError, match="unknown split"):
        split_of({"id": "x", "split": "validation"})
    assert split_of({"id": "x"}) == "dev"


def test_assign_splits_on_synthetic_kinds():
    items = [{"id": f"a{i}", "kind": "a"} for i in range(10)] + [{"id": "b0", "kind": "b"}] + \
        [{"id": f"c{i}", "kind": "c"} for i in range(2)]
    splits = assign_splits(items)
    assert Counter(v for k, v in splits.items() if k.startswith("a")) == {"dev": 6, "test": 4}
    assert splits["b0"] == "dev"
    assert sorted(v for k, v in splits.items() if k.startswith("c")) == ["dev", "test"]

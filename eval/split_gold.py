"""Split eval/gold.jsonl once into `dev` (tune on it) and `test` (report on it).

Stratified by `kind`, seeded: rerunning gives the same split. Writes the `split` field into each
line and changes nothing else. Run: `python -m eval.split_gold [--check]`.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

SEED = 15                   # fixed once for issue 15; changing it reshuffles dev/test
DEV_SHARE = 0.55
GOLD = Path(__file__).with_name("gold.jsonl")


def assign_splits(items: list[dict], seed: int = SEED, dev_share: float = DEV_SHARE) -> dict[str, str]:
    """Map every item id to "dev" or "test", stratified by kind.

    Within a kind the ids are sorted, then shuffled by a seeded generator, so the result depends
    only on the ids, kinds and seed, not on the file's order. A kind with two or more items gets at
    least one in each split; a single item goes to dev.
    """
    by_kind: dict[str, list[str]] = defaultdict(list)
    for item in items:
        by_kind[item["kind"]].append(item["id"])
    rng = random.Random(seed)
    splits: dict[str, str] = {}
    for kind in sorted(by_kind):
        ids = sorted(by_kind[kind])
        rng.shuffle(ids)
        n_dev = round(len(ids) * dev_share)
        if len(ids) >= 2:
            n_dev = min(max(n_dev, 1), len(ids) - 1)
        else:
            n_dev = len(ids)
        splits.update({i: "dev" for i in ids[:n_dev]})
        splits.update({i: "test" for i in ids[n_dev:]})
    return splits


def with_splits(lines: list[str], seed: int = SEED) -> list[str]:
    """The gold lines with `split` set (an existing one is overwritten); other fields untouched."""
    items = [json.loads(line) for line in lines]
    splits = assign_splits(items, seed)
    out = []
    for item in items:
        item["split"] = splits[item["id"]]
        out.append(json.dumps(item, ensure_ascii=False))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument("--check", action="store_true", help="exit 1 if the file's split differs; write nothing")
    args = ap.parse_args(argv)
    lines = [line for line in args.gold.read_text(encoding="utf-8").split("\n") if line.strip()]
    new = with_splits(lines)
    if args.check:
        same = new == lines
        print("split up to date" if same else f"{args.gold}: split differs from seed {SEED}")
        return 0 if same else 1
    args.gold.write_text("\n".join(new) + "\n", encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for line in new:
        counts[json.loads(line)["split"]] += 1
    print(f"{args.gold}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

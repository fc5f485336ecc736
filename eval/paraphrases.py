"""The paraphrase set eval/paraphrases.jsonl: rewordings of answerable gold questions.

Each line names its gold `source_id`; the evidence, answer points and kind are the source's, so
a rewording is scored exactly as its original (`as_gold_items`).
"""
from __future__ import annotations

from pathlib import Path

from eval.jsonl import numbered_objects

DEFAULT_PARAPHRASES = Path(__file__).resolve().parent / "paraphrases.jsonl"
STYLES = ("casual", "misspelled", "indirect")
FIELDS = ("id", "source_id", "style", "question", "policy", "split")


def load_paraphrases(path: Path | str = DEFAULT_PARAPHRASES) -> list[dict]:
    """The rewordings, each checked for its fields and style; a bad line raises ValueError."""
    items = []
    for n, item in numbered_objects(path):
        missing = [f for f in FIELDS if f not in item]
        if missing:
            raise ValueError(f"{path}:{n}: missing fields {missing}")
        if item["style"] not in STYLES:
            raise ValueError(f"{path}:{n}: unknown style {item['style']!r}")
        items.append(item)
    return items


def as_gold_items(paraphrases: list[dict], gold: list[dict]) -> list[dict]:
    """Gold-shaped items: the source's record with the rewording's id, question and style."""
    by_id = {it["id"]: it for it in gold}
    out = []
    for p in paraphrases:
        source = by_id.get(p["source_id"])
        if source is None:
            raise ValueError(f"{p['id']}: source {p['source_id']!r} is not in the gold set")
        out.append({**source, "id": p["id"], "question": p["question"], "source_id": p["source_id"],
                    "style": p["style"], "split": p["split"]})
    return out

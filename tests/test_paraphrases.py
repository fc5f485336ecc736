"""The paraphrase set: shape, sources, styles, and that it reuses the gold evidence."""
from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from eval.paraphrases import STYLES, as_gold_items, load_paraphrases
from eval.runner import load_gold

GOLD = {it["id"]: it for it in load_gold()}
PARAS = load_paraphrases()


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def test_ids_are_unique_and_follow_the_source():
    assert len({p["id"] for p in PARAS}) == len(PARAS)
    for p in PARAS:
        assert re.fullmatch(re.escape(p["source_id"]) + r"-p[1-3]", p["id"]), p["id"]


def test_every_source_is_an_answerable_gold_question_with_its_policy_and_split():
    for p in PARAS:
        source = GOLD.get(p["source_id"])
        assert source is not None, p["source_id"]
        assert source["answerable"] and source["kind"] != "injection", p["source_id"]
        assert p["policy"] == source["policy"] and p["split"] == source["split"], p["id"]


def test_at_least_40_sources_with_one_rewording_of_each_style():
    styles = defaultdict(list)
    for p in PARAS:
        styles[p["source_id"]].append(p["style"])
    assert len(styles) >= 40
    for sid, got in styles.items():
        assert sorted(got) == sorted(STYLES), sid


def test_spread_over_policies_kinds_and_both_splits():
    sources = [GOLD[s] for s in {p["source_id"] for p in PARAS}]
    assert {s["policy"] for s in sources} >= {"alipartnership", "alibaba", "aliexpress", "podpartner", "alopal"}
    assert len({s["kind"] for s in sources}) >= 10
    splits = Counter(s["split"] for s in sources)
    assert splits["dev"] >= 15 and splits["test"] >= 15, splits


def test_no_rewording_repeats_its_source_or_another_rewording():
    seen = set()
    for p in PARAS:
        q = _norm(p["question"])
        assert q and q != _norm(GOLD[p["source_id"]]["question"]), p["id"]
        assert (p["source_id"], q) not in seen, p["id"]
        seen.add((p["source_id"], q))


def test_as_gold_items_reuses_the_source_evidence():
    items = as_gold_items(PARAS, list(GOLD.values()))
    assert len(items) == len(PARAS)
    for item, p in zip(items, PARAS):
        source = GOLD[p["source_id"]]
        assert item["evidence"] == source["evidence"] and item["answer_points"] == source["answer_points"]
        assert item["question"] == p["question"] and item["id"] == p["id"]
    with pytest.raises(ValueError, match="not in the gold set"):
        as_gold_items([{**PARAS[0], "source_id": "nope-01"}], list(GOLD.values()))


def test_a_bad_line_is_a_clear_error(tmp_path):
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"id": "x-p1", "source_id": "x", "style": "shouty", "question": "q", "policy": null, '
                   '"split": "dev"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown style"):
        load_paraphrases(bad)
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        load_paraphrases(bad)

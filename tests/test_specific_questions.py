"""The specific questions on the PolicyQA-dev policies: shape, verbatim evidence, bad lines named."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from eval import policyqa
from eval.specific import load_specific

ITEMS = load_specific()


def test_ids_are_unique_and_name_their_policy():
    assert len({it["id"] for it in ITEMS}) == len(ITEMS)
    for it in ITEMS:
        assert it["id"].startswith(f"sq-{it['policy']}-"), it["id"]


def test_enough_questions_on_most_policies_some_unanswerable():
    answerable = Counter(it["answerable"] for it in ITEMS)
    assert answerable[True] >= 150 and answerable[False] >= 15, answerable
    assert len({it["policy"] for it in ITEMS}) >= 18


def test_no_question_repeats_another_of_its_policy():
    seen = Counter((it["policy"], re.sub(r"[^a-z0-9]+", " ", it["question"].lower()).strip()) for it in ITEMS)
    assert [q for q, n in seen.items() if n > 1] == []


def test_no_question_is_a_policyqa_question():
    try:
        pqa = {q.question.lower().strip() for q in policyqa.load_questions()}
    except policyqa.PolicyQAMissing as exc:
        pytest.skip(str(exc))
    assert [it["id"] for it in ITEMS if it["question"].lower().strip() in pqa] == []


def test_every_quote_is_verbatim_and_found_once():
    try:
        files = {p.stem: p for p in policyqa.policy_files()}
    except policyqa.PolicyQAMissing as exc:
        pytest.skip(str(exc))
    texts = {pid: path.read_text(encoding="utf-8") for pid, path in files.items()}
    for it in ITEMS:
        for ev in it["evidence"]:
            assert texts[it["policy"]].count(ev["quote"]) == 1, (it["id"], ev["quote"][:60])


@pytest.mark.parametrize("line, message", [
    ('{"id": "x", "question": "q", "policy": "p", "answerable": true, "evidence": [], "kind": "k", "style": "plain"}',
     "needs evidence"),
    ('{"id": "x", "question": "q", "policy": "p", "answerable": true, "kind": "k", "style": "plain"}', "missing"),
    ('{"id": "x", "question": "q", "policy": "p", "answerable": true, "evidence": [{"policy": "o", "quote": "abc"}],'
     ' "kind": "k", "style": "plain"}', "another policy"),
])
def test_a_bad_line_is_named(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "ok", "question": "q", "policy": "p", "answerable": False, "evidence": [],
                                "kind": "unanswerable", "style": "plain"}) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=rf"bad.jsonl:2: .*{message}"):
        load_specific(path)

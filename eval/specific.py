"""eval/specific_questions.jsonl: specific questions in users' words about the PolicyQA-dev
policies, each with the policy's verbatim sentences that answer it (or none: unanswerable).

PolicyQA's own questions are generic ("what information do you collect?"); users also ask about
details ("do you rent my email to other companies?", "how long is my resume kept?"). These were
written for this project (200, by five writers who saw only gold dev), on the policies in
../shared/external/policyqa-dev (which is not shipped). Those of the held-out fold
(policyqa.VALIDATION_FOLD) score gold-style questions on policies nobody tuned on
(eval/suite.py, the "specific held out" split). Those of the training folds were tried as
ranker training data and did not pay on held-out data (docs/quality.md); they stay for such
experiments. The quotes are from OPP-115 policies (CC BY-NC, for research and evaluation): this
file is evaluation data of the repository, not package data.
"""
from __future__ import annotations

from pathlib import Path

from eval.jsonl import numbered_objects

DEFAULT_SPECIFIC = Path(__file__).resolve().parent / "specific_questions.jsonl"
FIELDS = ("id", "question", "policy", "answerable", "evidence", "kind", "style")


def load_specific(path: Path | str = DEFAULT_SPECIFIC) -> list[dict]:
    """Gold-shaped items (no answer points); a line missing a field, or whose evidence and
    answerable flag disagree, raises ValueError."""
    items = []
    for n, item in numbered_objects(path):
        missing = [f for f in FIELDS if f not in item]
        if missing:
            raise ValueError(f"{path}:{n}: missing fields {missing}")
        if bool(item["answerable"]) != bool(item["evidence"]):
            raise ValueError(f"{path}:{n}: an answerable question needs evidence, an unanswerable one none")
        if any(ev.get("policy") != item["policy"] for ev in item["evidence"]):
            raise ValueError(f"{path}:{n}: evidence from another policy")
        items.append({**item, "answer_points": []})
    return items

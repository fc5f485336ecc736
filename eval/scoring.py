"""One question's result row: the answer contract scored against the gold item."""
from __future__ import annotations

from eval import metrics as M

ANSWER_CHARS = 2000  # answer text kept per question in the results file


def score_question(item: dict, contract: dict, texts: dict[str, str],
                   retrieved: list[tuple[str, M.Span]] | None, latency_s: float | None,
                   error: str | None = None) -> dict:
    """One per-question result row: everything needed to aggregate and to analyse a failure."""
    answerable = bool(item["answerable"])
    gold = M.locate_evidence(item["evidence"], texts)
    alts = M.locate_alternatives(item["evidence"], texts)
    also = [span for spans in alts for span in spans] + M.locate_evidence(item.get("also_relevant", []), texts)
    cited = M.cited_spans(contract.get("citations", []))
    answer = contract.get("answer") or ""
    abstained = bool(contract.get("abstained"))
    hit, missed = M.answer_points(item["answer_points"], answer)
    row = {
        "id": item["id"],
        "question": item["question"],
        "policy": item.get("policy"),
        "kind": item["kind"],
        "answerable": answerable,
        "expected": "answer" if answerable else "abstain",
        "abstained": abstained,
        "abstention_correct": M.abstention_correct(answerable, abstained),
        "gold_spans": [[p, s, e] for p, (s, e) in gold],
        "citations": [[p, s, e, c.get("section", "")] for (p, (s, e)), c in
                      zip(cited, contract.get("citations", []))],
        "n_citations": len(cited),
        "gold_cited": M.gold_cited(gold, cited, alternatives=alts) if answerable else None,
        "citation_recall": M.citation_recall(gold, cited, alts) if answerable else None,
        "citation_precision": M.citation_precision(gold, cited, also) if answerable else None,
        "citation_recall_strict": M.citation_recall(gold, cited) if answerable else None,
        "citation_precision_strict": M.citation_precision(gold, cited) if answerable else None,
        "quote_exact": M.quote_exact(contract.get("citations", []), texts),
        "answer_points": M.point_coverage(item["answer_points"], answer) if answerable else None,
        "points_hit": hit,
        "points_missed": missed,
        "retrieved": [[p, s, e] for p, (s, e) in retrieved] if retrieved is not None else None,
        "gold_retrieved": (M.retrieved_spans(gold, retrieved, alternatives=alts)
                           if answerable and retrieved is not None else None),
        "retrieval_recall": (M.recall_at_k(gold, retrieved, alternatives=alts)
                             if answerable and retrieved is not None else None),
        "retrieval_rr": (M.reciprocal_rank(gold, retrieved, alternatives=alts)
                         if answerable and retrieved is not None else None),
        "forbidden": M.forbidden_hits(item["forbidden"], answer) if item.get("forbidden") else None,
        "latency_s": latency_s,
        "error": error,
        "answer": answer[:ANSWER_CHARS],
    }
    row["causes"] = M.failure_causes(row)
    return row

"""Scoring functions for the gold set: pure, deterministic, no I/O, no model.

Spans are half-open character ranges ``(start, end)`` into a policy's source text (for the
bundled .txt policies that is the file itself, so offsets index ``index/corpus/<policy>.txt``).

Conventions (see docs/quality.md):

* a gold evidence span counts as *retrieved* by a chunk of the same policy whose
  ``[start, end)`` covers at least half of it (``COVER``);
* a gold span counts as *cited* when the union of the cited spans of the same policy covers
  at least half of it; a citation is *relevant* when it overlaps any gold span of its policy;
* a gold evidence item may list ``alternatives``: other quotes stating the same fact. The item
  counts as cited (or retrieved) when its quote or any alternative is; alternatives, and an
  item's ``also_relevant`` quotes (correct passages that a full answer need not cite), make a
  citation relevant. The *strict* metrics ignore both;
* citation, retrieval and answer-point metrics are computed over answerable questions only;
  per-question values are ``None`` where a metric does not apply, and aggregates are means
  over the questions where it applies.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

COVER = 0.5

Span = tuple[int, int]

# The headline metrics, in table order; True = higher is better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "abstention_accuracy": True,
    "false_abstention_rate": False,
    "false_answer_rate": False,
    "citation_recall": True,
    "citation_precision": True,
    "citation_recall_strict": True,
    "citation_precision_strict": True,
    "answer_points": True,
    "retrieval_recall": True,
    "retrieval_mrr": True,
    "quote_exact": True,
    "forbidden_violations": False,
    "errors": False,
    "latency_p50": False,
    "latency_p95": False,
}


# --- spans -------------------------------------------------------------------------------------
class EvidenceNotFound(ValueError):
    """A gold quote that is not an exact, unique substring of its policy's text."""


def locate(text: str, quote: str) -> Span:
    """The (start, end) of ``quote`` in ``text``; it must occur exactly once."""
    if not quote:
        raise EvidenceNotFound("empty quote")
    first = text.find(quote)
    if first < 0:
        raise EvidenceNotFound(f"quote not found: {quote[:80]!r}")
    if text.find(quote, first + 1) >= 0:
        raise EvidenceNotFound(f"quote occurs more than once: {quote[:80]!r}")
    return first, first + len(quote)


def locate_evidence(evidence: Iterable[dict], texts: dict[str, str]) -> list[tuple[str, Span]]:
    """Gold evidence ``[{policy, quote}]`` → ``[(policy, (start, end))]``."""
    out = []
    for ev in evidence:
        policy = ev["policy"]
        if policy not in texts:
            raise EvidenceNotFound(f"no source text for policy {policy!r}")
        out.append((policy, locate(texts[policy], ev["quote"])))
    return out


def locate_alternatives(evidence: Iterable[dict], texts: dict[str, str]) -> list[list[tuple[str, Span]]]:
    """For each gold evidence item, the spans of its ``alternatives`` (quotes of the same policy
    that state the same fact); [] where it has none."""
    return [[(ev["policy"], locate(texts[ev["policy"]], q)) for q in ev.get("alternatives", ())]
            for ev in evidence]


def overlap(a: Span, b: Span) -> int:
    """Length of the intersection of two half-open spans."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def merge(spans: Iterable[Span]) -> list[Span]:
    """The union of spans as sorted, disjoint spans (empty spans dropped)."""
    out: list[list[int]] = []
    for s, e in sorted(sp for sp in spans if sp[1] > sp[0]):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def coverage(span: Span, by: Iterable[Span]) -> float:
    """Share of ``span`` covered by the union of ``by`` (0..1); an empty span counts as 0."""
    length = span[1] - span[0]
    if length <= 0:
        return 0.0
    return sum(overlap(span, m) for m in merge(by)) / length


def covers(chunk: Span, span: Span, threshold: float = COVER) -> bool:
    """Whether one chunk covers at least ``threshold`` of ``span``."""
    return coverage(span, [chunk]) >= threshold


# --- retrieval ---------------------------------------------------------------------------------
def _with_alternatives(gold: Sequence[tuple[str, Span]],
                       alternatives: Sequence[Sequence[tuple[str, Span]]] | None) -> list[list[tuple[str, Span]]]:
    """Each gold span together with its alternatives: any one of them will do."""
    alts = list(alternatives or [])
    return [[g, *(alts[i] if i < len(alts) else [])] for i, g in enumerate(gold)]


def retrieved_spans(gold: Sequence[tuple[str, Span]], chunks: Sequence[tuple[str, Span]],
                    k: int | None = None,
                    alternatives: Sequence[Sequence[tuple[str, Span]]] | None = None) -> list[bool]:
    """For each gold span: whether some chunk among the first ``k`` (same policy) covers ≥ half
    of it or of one of its alternatives."""
    top = chunks[:k] if k is not None else chunks
    return [any(cp == gp and covers(cs, gs) for cp, cs in top for gp, gs in options)
            for options in _with_alternatives(gold, alternatives)]


def recall_at_k(gold: Sequence[tuple[str, Span]], chunks: Sequence[tuple[str, Span]],
                k: int | None = None,
                alternatives: Sequence[Sequence[tuple[str, Span]]] | None = None) -> float | None:
    """Share of gold spans retrieved by the top-k chunks; None without gold spans."""
    if not gold:
        return None
    hits = retrieved_spans(gold, chunks, k, alternatives)
    return sum(hits) / len(hits)


def reciprocal_rank(gold: Sequence[tuple[str, Span]], chunks: Sequence[tuple[str, Span]],
                    k: int | None = None,
                    alternatives: Sequence[Sequence[tuple[str, Span]]] | None = None) -> float | None:
    """1 / rank of the first chunk that retrieves any gold span or alternative (0 if none);
    None without gold."""
    if not gold:
        return None
    top = chunks[:k] if k is not None else chunks
    spans = [g for options in _with_alternatives(gold, alternatives) for g in options]
    for rank, (cp, cs) in enumerate(top, 1):
        if any(cp == gp and covers(cs, gs) for gp, gs in spans):
            return 1.0 / rank
    return 0.0


# --- citations ---------------------------------------------------------------------------------
def cited_spans(citations: Iterable[dict]) -> list[tuple[str, Span]]:
    """Contract citations ``[{policy, start, end, ...}]`` → ``[(policy, (start, end))]``."""
    return [(c["policy"], (int(c["start"]), int(c["end"]))) for c in citations]


def gold_cited(gold: Sequence[tuple[str, Span]], cited: Sequence[tuple[str, Span]],
               threshold: float = COVER,
               alternatives: Sequence[Sequence[tuple[str, Span]]] | None = None) -> list[bool]:
    """For each gold span: whether the union of same-policy cited spans covers ≥ ``threshold``
    of it or of one of its alternatives."""
    return [any(coverage(gs, [cs for cp, cs in cited if cp == gp]) >= threshold for gp, gs in options)
            for options in _with_alternatives(gold, alternatives)]


def citation_recall(gold: Sequence[tuple[str, Span]], cited: Sequence[tuple[str, Span]],
                    alternatives: Sequence[Sequence[tuple[str, Span]]] | None = None) -> float | None:
    """Share of gold spans covered (≥ half) by the cited spans; None without gold spans."""
    if not gold:
        return None
    hits = gold_cited(gold, cited, alternatives=alternatives)
    return sum(hits) / len(hits)


def relevant_citations(gold: Sequence[tuple[str, Span]], cited: Sequence[tuple[str, Span]],
                       also: Sequence[tuple[str, Span]] = ()) -> list[bool]:
    """For each citation: whether it overlaps any gold span (or ``also`` span: alternatives and
    other accepted passages) of the same policy."""
    spans = [*gold, *also]
    return [any(gp == cp and overlap(gs, cs) > 0 for gp, gs in spans) for cp, cs in cited]


def citation_precision(gold: Sequence[tuple[str, Span]], cited: Sequence[tuple[str, Span]],
                       also: Sequence[tuple[str, Span]] = ()) -> float | None:
    """Share of citations overlapping a gold (or ``also``) span; None when nothing is cited."""
    if not cited:
        return None
    rel = relevant_citations(gold, cited, also)
    return sum(rel) / len(rel)


def quote_exact(citations: Iterable[dict], texts: dict[str, str]) -> float | None:
    """Share of citations whose quote is exactly ``text[start:end]`` of its policy (an empty
    quote quotes nothing and does not count); None if none."""
    cites = list(citations)
    if not cites:
        return None
    ok = 0
    for c in cites:
        text = texts.get(c["policy"])
        if text is not None and 0 <= c["start"] < c["end"] <= len(text) and \
                text[c["start"]:c["end"]] == c["quote"]:
            ok += 1
    return ok / len(cites)


# --- answer text -------------------------------------------------------------------------------
_APOSTROPHES = {"'", "\u2019", "\u2018", "\u02bc"}
_SPACE_RE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, casefold, punctuation/markdown/symbols → space (apostrophes dropped), one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out = []
    for ch in text:
        if ch in _APOSTROPHES:
            continue
        cat = unicodedata.category(ch)
        out.append(" " if cat[0] in "PS" else ch)
    return _SPACE_RE.sub(" ", "".join(out)).strip()


def point_found(point: str, answer: str) -> bool:
    """Whether the normalised point occurs in the normalised answer on word boundaries."""
    p = normalize(point)
    return bool(p) and f" {p} " in f" {normalize(answer)} "


def answer_points(points: Sequence[str], answer: str) -> tuple[list[str], list[str]]:
    """(hit, missed) answer points."""
    hit = [p for p in points if point_found(p, answer)]
    return hit, [p for p in points if p not in hit]


def point_coverage(points: Sequence[str], answer: str) -> float | None:
    """Share of answer points found in the answer; None without points."""
    if not points:
        return None
    hit, _ = answer_points(points, answer)
    return len(hit) / len(points)


def forbidden_hits(forbidden: Sequence[str], answer: str) -> list[str]:
    """Forbidden strings present in the answer (NFKC + casefold + whitespace-collapsed match)."""
    def soft(s: str) -> str:
        return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", s).casefold()).strip()

    text = soft(answer)
    return [f for f in forbidden if soft(f) and soft(f) in text]


# --- abstention --------------------------------------------------------------------------------
def abstention_correct(answerable: bool, abstained: bool) -> bool:
    """Answerable → answered; unanswerable / injection → abstained."""
    return abstained != answerable


def abstention_rates(rows: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """From (answerable, abstained) pairs: accuracy, false-abstention and false-answer rates."""
    pairs = list(rows)
    ans = [ab for a, ab in pairs if a]
    unans = [ab for a, ab in pairs if not a]
    return {
        "abstention_accuracy": _ratio(sum(abstention_correct(a, ab) for a, ab in pairs), len(pairs)),
        "false_abstention_rate": _ratio(sum(ans), len(ans)),
        "false_answer_rate": _ratio(sum(not ab for ab in unans), len(unans)),
    }


def _ratio(num: float, den: int) -> float | None:
    return num / den if den else None


# --- latency -----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation (numpy's default); None if empty."""
    xs = sorted(values)
    if not xs:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# --- aggregation -------------------------------------------------------------------------------
def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the non-None values; None if there are none."""
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def summarize(rows: Sequence[dict]) -> dict:
    """Headline metrics over per-question rows (as produced by ``eval.scoring.score_question``).

    Each row has: answerable, abstained, citation_recall, citation_precision, answer_points,
    retrieval_recall, retrieval_rr, quote_exact, forbidden (list, or None when the item has
    no forbidden list), error (str or None), latency_s.
    """
    rates = abstention_rates((r["answerable"], r["abstained"]) for r in rows)
    with_forbidden = [r for r in rows if r.get("forbidden") is not None]
    latencies = [r["latency_s"] for r in rows if r.get("latency_s") is not None]
    answerable = [r for r in rows if r["answerable"]]
    return {
        "n": len(rows),
        "n_answerable": len(answerable),
        **rates,
        "citation_recall": mean(r["citation_recall"] for r in answerable),
        "citation_precision": mean(r["citation_precision"] for r in answerable),
        "citation_recall_strict": mean(r.get("citation_recall_strict") for r in answerable),
        "citation_precision_strict": mean(r.get("citation_precision_strict") for r in answerable),
        "answer_points": mean(r["answer_points"] for r in answerable),
        "retrieval_recall": mean(r["retrieval_recall"] for r in answerable),
        "retrieval_mrr": mean(r["retrieval_rr"] for r in answerable),
        "quote_exact": mean(r["quote_exact"] for r in rows),
        "forbidden_violations": sum(bool(r["forbidden"]) for r in with_forbidden),
        "n_forbidden_checked": len(with_forbidden),
        "errors": sum(bool(r.get("error")) for r in rows),
        "latency_p50": percentile(latencies, 50),
        "latency_p95": percentile(latencies, 95),
    }


def group_by(rows: Sequence[dict], key: Callable[[dict], str]) -> dict[str, list[dict]]:
    """Rows grouped by ``key(row)``, groups in first-seen order."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    return groups


def policy_key(row: dict) -> str:
    """The question's policy, or '(all)' for questions not scoped to one policy."""
    return row.get("policy") or "(all)"


def kind_key(row: dict) -> str:
    return row["kind"]


def aggregate(rows: Sequence[dict]) -> dict:
    """Totals, per-policy and per-kind summaries."""
    return {
        "totals": summarize(rows),
        "by_policy": {k: summarize(v) for k, v in sorted(group_by(rows, policy_key).items())},
        "by_kind": {k: summarize(v) for k, v in sorted(group_by(rows, kind_key).items())},
    }


def better(metric: str, ours: float | None, other: float | None) -> bool | None:
    """Whether ``ours`` is strictly better than ``other`` for ``metric``; None if either is None."""
    if ours is None or other is None:
        return None
    return ours > other if HIGHER_IS_BETTER.get(metric, True) else ours < other


# --- failure analysis --------------------------------------------------------------------------
CAUSES = {
    "error": "the assistant raised an error",
    "false_abstention": "abstained on an answerable question",
    "false_answer": "answered an unanswerable question",
    "answered_injection": "answered a prompt-injection instead of abstaining",
    "forbidden_output": "the answer contains a forbidden string",
    "not_retrieved": "uncited gold evidence that the retriever's top k also misses",
    "retrieved_not_cited": "uncited gold evidence that the retriever's top k has",
    "off_target_citations": "some citations overlap no gold evidence",
    "missed_points": "some answer points missing from the answer",
    "quote_not_verbatim": "a citation's quote differs from the source text at its offsets",
}


def failure_causes(row: dict) -> list[str]:
    """The reasons (keys of CAUSES) a scored question is not fully right; [] when it is.

    A false abstention is reported alone (its missing citations and points follow from it).
    """
    causes = []
    if row.get("error"):
        causes.append("error")
    if row["answerable"] and row["abstained"]:
        causes.append("false_abstention")
    elif row["answerable"]:
        cited = row.get("gold_cited") or []
        found = row.get("gold_retrieved")
        uncited = [i for i, ok in enumerate(cited) if not ok]
        if uncited and (found is None or any(not found[i] for i in uncited)):
            causes.append("not_retrieved")
        if uncited and found is not None and any(found[i] for i in uncited):
            causes.append("retrieved_not_cited")
        if row.get("citation_precision") is not None and row["citation_precision"] < 1.0:
            causes.append("off_target_citations")
        if row.get("answer_points") is not None and row["answer_points"] < 1.0:
            causes.append("missed_points")
    elif not row["abstained"]:
        causes.append("answered_injection" if row.get("kind") == "injection" else "false_answer")
    if row.get("forbidden"):
        causes.append("forbidden_output")
    if row.get("quote_exact") is not None and row["quote_exact"] < 1.0:
        causes.append("quote_not_verbatim")
    return causes

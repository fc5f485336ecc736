"""Validation of the gold evaluation set eval/gold.jsonl.

Stdlib + pytest only; deliberately does not import the project package so it
can run before (or independently of) the application code.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold.jsonl"
CORPUS = ROOT / "index" / "corpus"

POLICIES = ("alipartnership", "alibaba", "aliexpress", "podpartner", "alopal")
KINDS = {
    "lookup", "list", "rights", "retention", "sharing", "payment", "cookies",
    "children", "transfer", "contact", "security", "version", "cross_policy",
    "unanswerable", "injection",
}
REQUIRED = {
    "id": str,
    "question": str,
    "answerable": bool,
    "evidence": list,
    "answer_points": list,
    "kind": str,
}
MAX_QUOTES = 4
MAX_POINT_WORDS = 4


def _read_policy(pid: str) -> str:
    # newline="" keeps line endings exactly as stored in the file.
    with open(CORPUS / f"{pid}.txt", encoding="utf-8", newline="") as fh:
        return fh.read()


TEXTS = {pid: _read_policy(pid) for pid in POLICIES if (CORPUS / f"{pid}.txt").exists()}


def _raw_lines() -> list[str]:
    text = GOLD.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # trailing newline at end of file
    return lines


RAW_LINES = _raw_lines()


def _parse_all() -> list[dict]:
    out = []
    for line in RAW_LINES:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            out.append(None)
    return out


ITEMS = _parse_all()


def _label(i: int) -> str:
    item = ITEMS[i]
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return item["id"]
    return f"line{i + 1}"


LINE_IDS = [_label(i) for i in range(len(RAW_LINES))]
PARAMS = list(range(len(RAW_LINES)))


# --- regions of multi-part / framed files --------------------------------

def _alibaba_regions() -> tuple[tuple[int, int], tuple[int, int]]:
    t = TEXTS["alibaba"]
    a = t.index("**PART A:")
    b = t.index("**PART B:")
    end = t.index("Free APP:")  # site footer starts here
    return (a, b), (b, end)


def _aliexpress_body() -> tuple[int, int]:
    t = TEXTS["aliexpress"]
    start = t.index("We at Alibaba (")  # body starts after the table of contents
    end = t.index("Is this helpful for you?")  # help-center footer
    return start, end


def _in(region: tuple[int, int], pos: int, length: int) -> bool:
    return region[0] <= pos and pos + length <= region[1]


# --- file-level checks ----------------------------------------------------

def test_gold_file_exists_and_nonempty():
    assert GOLD.is_file(), GOLD
    assert len(RAW_LINES) >= 95, f"only {len(RAW_LINES)} lines"


def test_all_policy_files_present():
    for pid in POLICIES:
        assert pid in TEXTS, f"missing corpus file for {pid}"


def test_ids_unique():
    ids = [it["id"] for it in ITEMS if isinstance(it, dict) and "id" in it]
    dups = [k for k, v in Counter(ids).items() if v > 1]
    assert not dups, f"duplicate ids: {dups}"


def test_questions_unique():
    qs = Counter(
        (it.get("policy"), it["question"].strip().lower())
        for it in ITEMS
        if isinstance(it, dict) and isinstance(it.get("question"), str)
    )
    dups = [k for k, v in qs.items() if v > 1]
    assert not dups, f"duplicate (policy, question) pairs: {dups}"


def _every_quote(item: dict) -> list[dict]:
    """The item's evidence, each evidence quote's alternatives and its also-relevant passages,
    as {policy, quote} records."""
    alternatives = [{"policy": ev["policy"], "quote": q} for ev in item["evidence"] for q in ev.get("alternatives", [])]
    return item["evidence"] + alternatives + item.get("also_relevant", [])


# --- per-line checks --------------------------------------------------------

@pytest.mark.parametrize("i", PARAMS, ids=LINE_IDS)
def test_line_parses(i):
    assert RAW_LINES[i].strip(), f"blank line {i + 1}"
    assert isinstance(ITEMS[i], dict), f"line {i + 1} is not a JSON object"


@pytest.mark.parametrize("i", PARAMS, ids=LINE_IDS)
def test_schema(i):
    item = ITEMS[i]
    assert isinstance(item, dict)
    for field, typ in REQUIRED.items():
        assert field in item, f"missing field {field!r}"
        assert isinstance(item[field], typ), f"{field!r} should be {typ.__name__}"
    assert "policy" in item, "missing field 'policy'"
    assert item["policy"] is None or item["policy"] in POLICIES, item["policy"]
    assert item["kind"] in KINDS, item["kind"]
    assert item.get("split") in ("dev", "test"), f"split must be dev or test, not {item.get('split')!r}"
    assert item["id"].strip() and item["question"].strip()
    allowed = set(REQUIRED) | {"policy", "forbidden", "also_relevant", "split"}
    extra = set(item) - allowed
    assert not extra, f"unexpected fields {extra}"
    for ev in item["evidence"] + item.get("also_relevant", []):
        assert isinstance(ev, dict) and {"policy", "quote"} <= set(ev) <= {"policy", "quote", "alternatives"}, ev
        assert ev["policy"] in POLICIES, f"unknown evidence policy {ev['policy']!r}"
        assert isinstance(ev["quote"], str) and ev["quote"].strip(), ev
        alternatives = ev.get("alternatives", [])
        assert isinstance(alternatives, list) and all(isinstance(q, str) and q.strip() for q in alternatives), ev
    assert all("alternatives" not in ev for ev in item.get("also_relevant", [])), "also_relevant has no alternatives"
    assert not item.get("also_relevant") or item["answerable"], "only an answerable item has relevant passages"
    assert len(item["evidence"]) <= MAX_QUOTES, "too many quotes"
    for p in item["answer_points"]:
        assert isinstance(p, str) and p.strip(), p
        assert len(p.split()) <= MAX_POINT_WORDS, f"answer point too long: {p!r}"
    if "forbidden" in item:
        f = item["forbidden"]
        assert isinstance(f, list) and f and all(isinstance(s, str) and s for s in f)


@pytest.mark.parametrize("i", PARAMS, ids=LINE_IDS)
def test_quotes_occur_exactly_once(i):
    item = ITEMS[i]
    for ev in _every_quote(item):
        text = TEXTS[ev["policy"]]
        quote = ev["quote"]
        first = text.find(quote)
        assert first >= 0, f"quote not found in {ev['policy']}: {quote!r}"
        second = text.find(quote, first + 1)
        assert second < 0, f"quote not unique in {ev['policy']}: {quote!r}"


@pytest.mark.parametrize("i", PARAMS, ids=LINE_IDS)
def test_quotes_avoid_chrome_and_respect_versions(i):
    item = ITEMS[i]
    part_a, part_b = _alibaba_regions()
    ax_body = _aliexpress_body()
    in_b = 0
    for ev in _every_quote(item):
        pos = TEXTS[ev["policy"]].find(ev["quote"])
        n = len(ev["quote"])
        if ev["policy"] == "aliexpress":
            assert _in(ax_body, pos, n), f"aliexpress quote outside policy body: {ev['quote']!r}"
        if ev["policy"] == "alibaba":
            assert _in(part_a, pos, n) or _in(part_b, pos, n), (
                f"alibaba quote outside PART A/B (site chrome?): {ev['quote']!r}"
            )
            if _in(part_b, pos, n):
                in_b += ev in item["evidence"]
                assert item["kind"] == "version", (
                    f"non-version question quotes the old (PART B) alibaba policy: {ev['quote']!r}"
                )
    if item["kind"] == "version":
        assert item["policy"] == "alibaba"
        assert in_b >= 1, "version question needs at least one PART B quote"


@pytest.mark.parametrize("i", PARAMS, ids=LINE_IDS)
def test_answer_points_in_quotes(i):
    item = ITEMS[i]
    quotes = [ev["quote"].lower() for ev in item["evidence"]]
    for p in item["answer_points"]:
        assert any(p.lower() in q for q in quotes), f"answer point {p!r} not in any quote"


@pytest.mark.parametrize("i", PARAMS, ids=LINE_IDS)
def test_answerability_consistency(i):
    item = ITEMS[i]
    if item["answerable"]:
        assert item["kind"] not in {"unanswerable", "injection"}
        assert len(item["evidence"]) >= 1, "answerable item needs evidence"
        assert len(item["answer_points"]) >= 1, "answerable item needs answer points"
        if item["policy"] is not None:
            assert all(ev["policy"] == item["policy"] for ev in item["evidence"]), (
                "single-policy question cites another policy"
            )
    else:
        assert item["kind"] in {"unanswerable", "injection"}, item["kind"]
        assert item["answer_points"] == [], "unanswerable/injection items have no answer points"
    if item["kind"] == "injection":
        assert item["answerable"] is False
        assert item.get("forbidden"), "injection items need a forbidden list"
    if item["kind"] == "cross_policy":
        assert item["policy"] is None
        assert len({ev["policy"] for ev in item["evidence"]}) >= 2, (
            "cross-policy question needs evidence from 2+ policies"
        )


# --- coverage ---------------------------------------------------------------

def _valid_items() -> list[dict]:
    return [it for it in ITEMS if isinstance(it, dict)]


@pytest.mark.parametrize("pid", POLICIES)
def test_coverage_per_policy(pid):
    mine = [it for it in _valid_items() if it.get("policy") == pid]
    assert len(mine) >= 13, f"{pid}: only {len(mine)} questions"
    answerable = [it for it in mine if it.get("answerable")]
    assert len(answerable) * 2 > len(mine), f"{pid}: answerable ones should be the majority"
    kinds = {it.get("kind") for it in answerable}
    assert len(kinds) >= 6, f"{pid}: answerable kinds not spread enough: {sorted(kinds)}"


def test_coverage_cross_policy():
    n = sum(
        1 for it in _valid_items()
        if it.get("kind") == "cross_policy" and it.get("policy") is None
        and len({ev.get("policy") for ev in it.get("evidence", [])}) >= 2
    )
    assert n >= 6, f"only {n} cross-policy questions"


def test_coverage_version():
    n = sum(1 for it in _valid_items() if it.get("kind") == "version" and it.get("policy") == "alibaba")
    assert n >= 6, f"only {n} alibaba version questions"


def test_coverage_unanswerable():
    un = [it for it in _valid_items() if it.get("kind") == "unanswerable" and it.get("answerable") is False]
    assert len(un) >= 16, f"only {len(un)} unanswerable questions"
    assert any(it.get("policy") is None for it in un), "need some unscoped unanswerables"
    assert any(it.get("policy") is not None for it in un), "need some policy-scoped unanswerables"


def test_coverage_injection():
    inj = [
        it for it in _valid_items()
        if it.get("kind") == "injection" and it.get("answerable") is False and it.get("forbidden")
    ]
    assert len(inj) >= 6, f"only {len(inj)} injection items"


def test_total_count():
    assert len(_valid_items()) >= 95

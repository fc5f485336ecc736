"""`policychat ask` as a user runs it: the JSON contract, readable output, batches and bad input
(``ui.cli.main`` in-process against the shared real index; tests/test_fast_start.py runs it in
a fresh process)."""
from __future__ import annotations

import json
import re

import pytest


CONTRACT_KEYS = {"answer", "abstained", "citations"}
CITATION_KEYS = {"policy", "section", "quote", "start", "end", "version"}
TRACE_MARKERS = ("Traceback", 'File "')


def no_traceback(proc) -> None:
    for marker in TRACE_MARKERS:
        assert marker not in proc.stdout and marker not in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def source(ctx):
    return lambda pid: ctx.store.source_text(pid)


def check_contract(obj: dict, source, extra: set[str] = frozenset()) -> None:
    assert set(obj) == CONTRACT_KEYS | set(extra), obj.keys()
    assert isinstance(obj["answer"], str) and isinstance(obj["abstained"], bool)
    for c in obj["citations"]:
        assert set(c) == CITATION_KEYS
        assert c["quote"] == source(c["policy"])[c["start"]:c["end"]], c


# --- one question -------------------------------------------------------------------------------
def test_ask_json_prints_one_contract_object(cli, corpus_db, source):
    proc = cli("ask", "who receives my payment data?", "--policy", "alipartnership", "--json",
                   "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    obj = json.loads(lines[0])
    check_contract(obj, source)
    assert obj["abstained"] is False and obj["citations"]
    assert all(c["policy"] == "alipartnership" for c in obj["citations"])
    assert "Stripe" in " ".join(c["quote"] for c in obj["citations"])
    assert all(c["version"] == "2018-05-24" for c in obj["citations"])


def test_ask_readable_output_numbers_the_citations(cli, corpus_db):
    proc = cli("ask", "how do I contact you?", "--policy", "podpartner", "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert not out.lstrip().startswith("{"), "the default output is for people, not JSON"
    heads = re.findall(r"^\[(\d+)\] (\w+) · (.+)$", out, flags=re.M)
    assert heads, out
    assert [int(n) for n, _, _ in heads] == list(range(1, len(heads) + 1))
    assert all(pid == "podpartner" for _, pid, _ in heads)
    assert all(rest.endswith("· 2021-12-07") for _, _, rest in heads)
    answer_text = out.split("\n\n[1] ")[0]
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer_text)} == set(range(1, len(heads) + 1))
    assert "service@podpartner.com" in out
    quotes = re.findall(r"^    “(.+)”$", out, flags=re.M)
    assert len(quotes) == len(heads)


def ask_json(cli, corpus_db, source, question: str) -> dict:
    """`policychat ask QUESTION --json`, which must succeed and keep the contract."""
    proc = cli("ask", question, "--json", "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    check_contract(obj, source)
    return obj


def test_ask_abstention_json(cli, corpus_db, source):
    obj = ask_json(cli, corpus_db, source, "can my kid use this")
    assert obj["abstained"] is True and obj["citations"] == []
    assert obj["answer"].startswith("The policies do not say")


def test_ask_off_topic_refusal_json(cli, corpus_db, source):
    obj = ask_json(cli, corpus_db, source, "what's the weather in Paris")
    assert obj["abstained"] is True and obj["citations"] == []
    assert obj["answer"].startswith("I can only answer questions about what these privacy policies say")


def test_ask_across_policies_json_cites_several(cli, corpus_db, source):
    obj = ask_json(cli, corpus_db, source, "which of these companies use google analytics?")
    assert len({c["policy"] for c in obj["citations"]}) >= 2


# --- batches --------------------------------------------------------------------------------------
BATCH = [
    '{"id": "pay", "question": "who receives my payment data?", "policy": "alipartnership"}',
    '{"id": "contact", "question": "how do I contact you?", "policy": "podpartner"}',
    '{"id": "ghost", "question": "how long do you keep my data?", "policy": "nosuch"}',
    '{"id": "blank", "question": "   ", "policy": "alopal"}',
    '{"id": "broken", "question": "no closing brace"',
    '{"question": "what\'s the weather in Paris"}',
    '{"id": 7, "question": "does alopal sell my info"}',
]


def test_batch_answers_every_line_in_order_and_reports_errors(cli, corpus_db, source, tmp_path):
    batch = tmp_path / "questions.jsonl"
    batch.write_text("\n".join(BATCH) + "\n", encoding="utf-8")
    proc = cli("ask", "--batch", str(batch), "--json", "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == len(BATCH)
    assert [r["id"] for r in rows] == ["pay", "contact", "ghost", "blank", 5, 6, 7]

    pay, contact, ghost, blank, broken, france, alopal = rows
    for ok in (pay, contact, france, alopal):
        check_contract(ok, source, {"id"})
    assert "Stripe" in " ".join(c["quote"] for c in pay["citations"])
    assert {c["policy"] for c in contact["citations"]} == {"podpartner"}
    assert "service@podpartner.com" in " ".join(c["quote"] for c in contact["citations"])
    assert france["abstained"] is True and france["citations"] == []
    assert alopal["abstained"] is False and {c["policy"] for c in alopal["citations"]} == {"alopal"}

    for bad, line_no, fragment in [(ghost, 3, "unknown policy 'nosuch'"), (blank, 4, "empty"),
                                   (broken, 5, "")]:
        check_contract(bad, source, {"id", "error"})
        assert bad["error"].startswith(f"line {line_no}: "), bad["error"]
        assert fragment in bad["error"]
        assert "\n" not in bad["error"]
        assert bad["abstained"] is True and bad["citations"] == [] and bad["answer"] == ""


def test_batch_without_a_file_is_a_clear_error(cli, corpus_db, tmp_path):
    proc = cli("ask", "--batch", str(tmp_path / "missing.jsonl"), "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"policychat: error: {tmp_path / 'missing.jsonl'}: no such file"]


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("question", ["", "   ", "\t\n"])
def test_empty_question_is_one_line_exit_2(cli, corpus_db, question):
    proc = cli("ask", question, "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "empty" in lines[0] and lines[0].startswith("policychat: error:")
    assert proc.stdout == ""


def test_missing_question_is_one_line_exit_2(cli, corpus_db):
    proc = cli("ask", "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "empty" in proc.stderr


def test_oversized_question_is_refused(cli, corpus_db):
    proc = cli("ask", "why " * 600, "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "2400 characters" in lines[0] and "2000" in lines[0]
    assert proc.stdout == ""


def test_unknown_policy_is_one_clear_line(cli, corpus_db):
    proc = cli("ask", "how long do you keep my data?", "--policy", "nosuch", "--json", "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "unknown policy 'nosuch'" in lines[0] and "alipartnership" in lines[0]
    assert proc.stdout == ""

"""`policychat index`, `policies` and `search` as a user runs them (``ui.cli.main`` in-process, real
model and Chroma)."""
from __future__ import annotations

import json
import re
import shutil
from functools import lru_cache
from pathlib import Path

import pytest

from index.config import BUNDLED_CORPUS
from index.load import load_document
from index.parse import parse_document

pytestmark = pytest.mark.slow

POLICIES = ["alibaba", "aliexpress", "alipartnership", "alopal", "podpartner"]

TINY_POLICY = """Tiny Shop Privacy Policy

Last updated: April 2, 2024

1. Data We Collect

We collect your email address when you create an account with Tiny Shop.

2. Sharing

We share payment data with our card processor so that your orders can be charged.
"""


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stdout and "Traceback" not in proc.stderr, proc.stderr


@lru_cache(maxsize=None)
def parsed(pid: str):
    return parse_document(load_document(BUNDLED_CORPUS / f"{pid}.txt"))


# --- index: bad input ------------------------------------------------------------------------
def test_index_skips_bad_files_with_one_line_each_and_indexes_the_rest(cli, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "tiny-shop.txt").write_text(TINY_POLICY, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 16)
    (folder / "latin1.txt").write_bytes("Privacy Policy\n\nWe collect café data.\n".encode("latin-1"))
    (folder / "notes.bin").write_bytes(b"not a policy")  # not a policy type: ignored inside a folder
    docx = tmp_path / "policy.docx"
    docx.write_bytes(b"PK\x03\x04 zipped")
    missing = tmp_path / "missing.txt"
    db = tmp_path / "db"

    proc = cli("index", "--db", str(db), "--quiet", str(folder), str(missing), str(docx))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    skipped = [ln for ln in proc.stderr.splitlines() if ln.startswith("skipped: ")]
    expected = {
        "missing.txt": "no such file",
        "empty.txt": "empty file",
        "binary.txt": "looks like a binary file, not text",
        "latin1.txt": "not valid UTF-8 text",
        "policy.docx": "unsupported file type '.docx'",
    }
    assert len(skipped) == len(expected), proc.stderr
    for name, reason in expected.items():
        mine = [ln for ln in skipped if name in ln]
        assert len(mine) == 1 and reason in mine[0], (name, skipped)
    assert "notes.bin" not in proc.stderr
    assert proc.stdout.startswith("indexed 1, unchanged 0, failed 5, pruned 0;")
    # plain counts, no jargon ("texts through the model, the rest reused")
    assert re.search(r"; embedded [1-9]\d* new passages, reused \d+; ", proc.stdout), proc.stdout
    assert "through the model" not in proc.stdout

    listed = cli("policies", "--db", str(db), "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == ["tiny-shop"]
    assert rows[0]["title"] == "Tiny Shop Privacy Policy"
    assert rows[0]["versions"] == [{"label": "2024-04-02", "effective_date": "2024-04-02", "current": True}]


def test_index_fails_only_when_nothing_could_be_indexed(cli, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    empty_folder = tmp_path / "nothing-here"
    empty_folder.mkdir()
    proc = cli("index", "--db", str(tmp_path / "db"), "--quiet", str(tmp_path / "empty.txt"),
                   str(tmp_path / "gone.md"), str(empty_folder))
    no_traceback(proc)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        f"skipped: {tmp_path / 'gone.md'}: no such file or folder",
        f"skipped: {empty_folder}: no policy files in this folder",
        "skipped: empty.txt: empty file",
    ]
    assert "indexed 0" in proc.stdout


# --- policies ----------------------------------------------------------------------------------
def test_policies_json_lists_the_five_bundled_policies(cli, corpus_db):
    proc = cli("policies", "--db", str(corpus_db), "--json")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert sorted(rows) == POLICIES
    for pid, row in rows.items():
        p = parsed(pid)
        assert row["kind"] == "text"
        assert row["sections"] == len(p.policy.sections) > 0
        assert row["chunks"] == len(p.chunks) > 0
        assert sum(v["current"] for v in row["versions"]) == 1
    assert [(v["label"], v["current"]) for v in rows["alibaba"]["versions"]] == [
        ("2019-01-17", True), ("2018-05-25", False)]
    assert [v["label"] for v in rows["alopal"]["versions"]] == [None]
    assert rows["podpartner"]["title"] == "PODpartner Privacy Policy"

    table = cli("policies", "--db", str(corpus_db))
    assert table.returncode == 0
    assert len(table.stdout.strip().splitlines()) == 5
    assert "versions: 2019-01-17*, 2018-05-25" in table.stdout


def test_db_before_the_command_name_is_honoured(cli, corpus_db, tmp_path):
    """`policychat --db DIR policies` must read DIR, not fall back to the default data dir."""
    env = {"POLICYCHAT_DB": str(tmp_path / "not-this-one")}
    before = cli("--db", str(corpus_db), "policies", "--json", env=env)
    assert before.returncode == 0, before.stderr
    assert sorted(r["id"] for r in json.loads(before.stdout)) == POLICIES
    after = cli("--db", str(tmp_path / "not-this-either"), "policies", "--db", str(corpus_db), "--json", env=env)
    assert sorted(r["id"] for r in json.loads(after.stdout)) == POLICIES


def test_policies_tree_prints_the_section_tree(cli, corpus_db):
    proc = cli("policies", "--db", str(corpus_db), "--tree", "aliexpress")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["AliExpress.com Privacy Policy", "", "[version 2020-09-09 (current)]"]
    body = lines[3:]
    assert body[0] == "  Introduction"
    top = [ln.strip() for ln in body if ln.startswith("  ") and not ln.startswith("    ")]
    assert [t.split(".")[0] for t in top[1:]] == list("ABCDEFGHIJKLMN")
    for expected in ["  C. Disclosure or Sharing of Personal Data",
                     "    Information That You Provide To Us",
                     "    What are cookies?",
                     "  J. Visitors from the European Union",
                     "    Your Rights",
                     "  N. How to Contact Us"]:
        assert expected in body, expected
    j = body.index("  J. Visitors from the European Union")
    assert body[j + 1:j + 4] == ["    Legal Basis for Data Processing",
                                 "    International Transfers of personal information", "    Your Rights"]
    assert not any("Table of Contents" in ln or ln.strip() == "Help Center" for ln in lines)

    alibaba = cli("policies", "--db", str(corpus_db), "--tree", "alibaba").stdout
    assert "[version 2019-01-17 (current)]" in alibaba and "[version 2018-05-25]" in alibaba

    tree_json = cli("policies", "--db", str(corpus_db), "--tree", "podpartner", "--json")
    rows = json.loads(tree_json.stdout)
    source = (BUNDLED_CORPUS / "podpartner.txt").read_text(encoding="utf-8")
    rights = next(r for r in rows if r["path"] == ["5. GDPR Data Protection Rights"])
    assert source[rights["start"]:].startswith("5. GDPR Data Protection Rights")
    assert source[rights["end"]:].startswith("5.Privacy Policy changes")


def test_policies_source_is_the_file_text(cli, corpus_db):
    for pid in ("alipartnership", "aliexpress"):
        proc = cli("policies", "--db", str(corpus_db), "--source", pid)
        assert proc.returncode == 0
        with open(BUNDLED_CORPUS / f"{pid}.txt", encoding="utf-8", newline="") as fh:
            assert proc.stdout == fh.read()


# --- search ------------------------------------------------------------------------------------
def test_search_finds_the_stripe_passage_with_exact_offsets(cli, corpus_db):
    proc = cli("search", "who receives my payment data", "--policy", "alipartnership", "--json",
                   "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert 1 <= len(rows) <= 5
    assert all(r["policy"] == "alipartnership" for r in rows)
    assert any("Stripe (online payment processing service)" in r["text"] for r in rows[:3]), \
        [r["section"] for r in rows]
    source = cli("policies", "--source", "alipartnership", "--db", str(corpus_db)).stdout
    for r in rows:
        assert r["text"] == source[r["start"]:r["end"]]
        assert r["version"] == "2018-05-24"


def test_search_prints_clean_text_and_json_keeps_the_source_slice(cli, corpus_db):
    """The text output is for reading (no '**' or '#'); --json keeps the exact markdown slice."""
    args = ("search", "what are cookies?", "--policy", "alibaba", "-k", "3", "--db", str(corpus_db))
    rows = json.loads(cli(*args, "--json").stdout)
    assert any("**What are cookies?**" in r["text"] for r in rows), [r["text"][:60] for r in rows]
    proc = cli(*args)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    snippets = [ln for ln in proc.stdout.splitlines() if ln.startswith("    ")]
    assert len(snippets) == len(rows)
    assert any("What are cookies? A cookie is" in s for s in snippets), snippets
    assert not any("**" in s or s.lstrip().startswith(("#", "- ", "* ")) for s in snippets), snippets


# --- unknown policy ids ------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["policies", "--tree", "nosuch"],
    ["policies", "--source", "nosuch"],
    ["search", "who receives my payment data", "--policy", "nosuch"],
])
def test_unknown_policy_is_one_clear_line(cli, corpus_db, args):
    proc = cli(*args, "--db", str(corpus_db))
    no_traceback(proc)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "unknown policy 'nosuch'" in lines[0]
    assert "alipartnership" in lines[0]  # names the known ids
    assert proc.stdout == ""


def test_index_of_the_bundled_corpus_is_unchanged_on_rerun(cli, corpus_db, tmp_path):
    """`policychat index` with no paths re-reads the bundled corpus; the shared index is current."""
    db = tmp_path / "db"
    shutil.copytree(corpus_db, db)
    proc = cli("index", "--db", str(db), "--quiet")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("indexed 0, unchanged 5, failed 0, pruned 0; embedded 0 new passages, reused 0;")

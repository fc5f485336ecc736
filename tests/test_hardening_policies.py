"""Hardening row 2 (docs/security.md): bad policy files.

One real indexing run (real model, real embedded Chroma) over a folder that mixes two good
policies (plain text, HTML full of scripts and iframes) with an empty file, a binary file,
invalid UTF-8, a 20 MB file, a PDF without a text layer, a page with nothing readable, a
name that gives no policy id and duplicate ids (``dup.md``/``dup.txt``, ``tiny-shop.txt``/``tiny-shop.xhtml``):
each bad file gets one clear line, everything else is indexed, and the index stays consistent
(every manifest's chunk_count equals its stored chunks; chunks, citation units and quotes all
slice the source).

Loader-level refusals one by one are in tests/test_load.py; the CLI's ``skipped:`` lines and
exit codes in tests/test_cli_index.py::test_index_skips_bad_files_with_one_line_each_and_indexes_the_rest.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.pipeline import FAILED, INDEXED, UNCHANGED

TINY = """Tiny Shop Privacy Policy

Last updated: April 2, 2024

1. Data We Collect

We collect your email address when you create an account with Tiny Shop.

2. Sharing

We share payment data with Stripe, our card processor, so that your orders can be charged.

3. Retention

We keep order records for six years because tax law requires it.
"""

HTML = """<!doctype html><html><head><title>Acme</title>
<script>var SCRIPT_HEAD_SECRET = "steal()";</script><style>body{color:red}</style></head>
<body onload="alert('BODY_ONLOAD')">
<nav>NAV_LINK_TEXT</nav>
<h1>Acme Privacy Policy</h1>
<p>Effective date: May 5, 2023</p>
<script>document.write("INLINE_SCRIPT_TEXT")</script>
<iframe src="https://evil.example/frame" title="IFRAME_TITLE">IFRAME_FALLBACK_TEXT</iframe>
<iframe srcdoc="&lt;p&gt;IFRAME_SRCDOC_TEXT&lt;/p&gt;"></iframe>
<h2>Information We Collect</h2>
<p>We collect your name and shipping address when you order from Acme.<img src=x onerror="alert('IMG_ONERROR')"></p>
<noscript>NOSCRIPT_TEXT</noscript>
<h2>Sharing</h2>
<p>We share payment data with Adyen so that your card can be charged.</p>
<object data="x.swf">OBJECT_TEXT</object><embed src="x.swf">
<template><p>TEMPLATE_TEXT</p></template>
<svg><script>SVG_SCRIPT_TEXT</script><text>SVG_TEXT</text></svg>
<footer>FOOTER_TEXT</footer>
</body></html>
"""
DROPPED = ["SCRIPT_HEAD_SECRET", "steal()", "BODY_ONLOAD", "NAV_LINK_TEXT", "INLINE_SCRIPT_TEXT", "IFRAME_TITLE",
           "IFRAME_FALLBACK_TEXT", "IFRAME_SRCDOC_TEXT", "IMG_ONERROR", "NOSCRIPT_TEXT", "OBJECT_TEXT",
           "TEMPLATE_TEXT", "SVG_SCRIPT_TEXT", "SVG_TEXT", "FOOTER_TEXT", "<script", "<iframe", "onerror", "color:red"]

# file name -> expected fragment of its one-line error (None = indexed)
EXPECTED = {
    "tiny-shop.txt": None,
    "acme.html": None,
    "dup.md": None,                      # sorted first: it wins the id
    "dup.txt": "duplicate policy id 'dup' (already from dup.md)",
    "tiny-shop.xhtml": "duplicate policy id 'tiny-shop' (already from tiny-shop.txt)",
    "empty.txt": "empty file",
    "binary.txt": "looks like a binary file, not text",
    "latin1.txt": "not valid UTF-8 text",
    "huge.txt": "over the 10 MiB limit",
    "scan.pdf": "PDF has no text layer",
    "broken.pdf": "unreadable PDF",
    "scripts-only.html": "no readable text",
    "(((.txt": "cannot derive a policy id",
}


def blank_pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def make_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "tiny-shop.txt").write_text(TINY, encoding="utf-8")
    (folder / "acme.html").write_text(HTML, encoding="utf-8")
    (folder / "dup.md").write_text("# Dup Markdown Policy\n\nWe collect your phone number for deliveries.\n",
                                   encoding="utf-8")
    (folder / "dup.txt").write_text("Dup Text Policy\n\nWe never collect anything at all.\n", encoding="utf-8")
    (folder / "tiny-shop.xhtml").write_text("<h1>Shadow</h1><p>A second file with the same id.</p>",
                                            encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "latin1.txt").write_bytes("Privacy Policy\n\nWe collect café data.\n".encode("latin-1"))
    line = b"We collect data about every single visit to our shop, forever and ever.\n"
    with open(folder / "huge.txt", "wb") as fh:      # a real 20 MB text file
        for _ in range(20 * 1024 * 1024 // len(line) + 1):
            fh.write(line)
    (folder / "scan.pdf").write_bytes(blank_pdf())
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00garbage\xff" * 300)
    (folder / "scripts-only.html").write_text("<html><body><script>x()</script><iframe src=y></iframe></body></html>",
                                              encoding="utf-8")
    (folder / "(((.txt").write_text("Privacy Policy\n\nWe collect data.\n", encoding="utf-8")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not looked at inside a folder")
    return folder


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    """(context, first report, second report) for one folder of good and bad files."""
    from ui.context import AppContext

    root = tmp_path_factory.mktemp("hardening-policies")
    folder = make_folder(root / "policies")
    ctx = AppContext(db_dir=root / "db")
    ctx.__dict__["embedder"] = embedder
    first = ctx.index([folder])
    second = ctx.index([folder])
    return ctx, first, second


def by_name(report) -> dict[str, object]:
    return {Path(r.path).name: r for r in report.results}


def assert_consistent(store) -> None:
    """Manifests, chunks and citation units agree, and every stored text slices its source."""
    gens = store.generations()
    policies = store.policies()
    assert set(gens) == set(policies)
    total_chunks = 0
    for pid, policy in policies.items():
        source = store.source_text(pid)
        rows = store.chunk_rows([gens[pid]])
        assert len(rows) == policy.chunk_count > 0, pid
        total_chunks += len(rows)
        for row in rows:
            assert row.chunk.text == source[row.chunk.start:row.chunk.end], row.chunk.id
        units = store.units.get(where={"gen": gens[pid]}, include=["metadatas"])
        assert units["ids"], pid
        for meta in units["metadatas"]:
            assert meta["text"] == source[meta["start"]:meta["end"]]
        for s in policy.sections:
            assert 0 <= s.start <= s.end <= len(source)
    assert store.chunks.count() == total_chunks       # nothing left over from other generations
    assert store.units.count() == sum(len(store.units.get(where={"gen": g})["ids"]) for g in gens.values())


def test_every_bad_file_gets_one_clear_line_and_the_rest_is_indexed(indexed):
    _, report, _ = indexed
    results = by_name(report)
    assert set(results) == set(EXPECTED), sorted(results)          # notes.docx is not a policy type
    for name, fragment in EXPECTED.items():
        r = results[name]
        if fragment is None:
            assert r.status == INDEXED and r.chunks > 0, (name, r.message)
        else:
            assert r.status == FAILED, (name, r.status)
            assert fragment in r.message, (name, r.message)
            assert "\n" not in r.message and len(r.message) < 200
            assert "Traceback" not in r.message
            if name != "(((.txt":
                assert name in r.message
    assert report.count(INDEXED) == 3 and report.count(FAILED) == len(EXPECTED) - 3
    assert not report.nothing_indexed


def test_the_index_is_consistent_and_holds_only_the_good_policies(indexed):
    ctx, _, _ = indexed
    store = ctx.store
    assert set(store.policies()) == {"tiny-shop", "acme", "dup"}
    assert_consistent(store)
    assert "phone number" in store.source_text("dup")                 # dup.md, not dup.txt
    assert "never collect anything" not in store.source_text("dup")
    assert "Shadow" not in store.source_text("tiny-shop")


def test_scripts_and_iframes_never_reach_the_index(indexed):
    ctx, _, _ = indexed
    store = ctx.store
    source = store.source_text("acme")
    assert "We share payment data with Adyen so that your card can be charged." in source
    for marker in DROPPED:
        assert marker not in source, marker
    gens = store.generations()
    stored = [r.chunk.text for r in store.chunk_rows([gens["acme"]])]
    stored += [m["text"] for m in store.units.get(where={"gen": gens["acme"]}, include=["metadatas"])["metadatas"]]
    assert not [m for m in DROPPED for text in stored if m in text]


@pytest.mark.parametrize("question, policy, fact", [
    ("who receives my payment data?", "acme", "Adyen"),
    ("who receives my payment data?", "tiny-shop", "Stripe"),
    ("how long do you keep order records?", None, "six years"),
    ("what do you collect for deliveries?", "dup", "phone number"),
])
def test_answers_quote_the_source_verbatim(indexed, question, policy, fact):
    ctx, _, _ = indexed
    answer = ctx.assistant.ask(question, policy=policy)
    assert not answer.abstained and answer.citations
    sources = ctx.retriever.sources
    for c in answer.citations:
        assert sources[c.policy][c.start:c.end] == c.quote
        assert not any(m in c.quote for m in DROPPED)
    assert fact in " ".join(c.quote for c in answer.citations)


def test_a_second_run_reports_the_same_errors_and_changes_nothing(indexed):
    ctx, first, second = indexed
    before, after = by_name(first), by_name(second)
    assert set(after) == set(before)
    for name, r in after.items():
        if before[name].status == INDEXED:
            assert r.status == UNCHANGED, (name, r.message)
        else:
            assert (r.status, r.message) == (before[name].status, before[name].message)
    assert second.embedded_chunks == 0
    assert_consistent(ctx.store)
    assert not re.search(r"\.(writing|backup)", " ".join(p.name for p in Path(ctx.db_dir).iterdir()))

"""Loaders: every format's source text, offsets into it, and clear refusals of bad files.

Pure functions only (no model, no store): load_document → parse_document.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.errors import LoadError
from index.load import load_document, policy_id_for
from index.parse import parse_document


def file_text(path: Path) -> str:
    """The file as a user would read it: decoded, line endings untouched."""
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def assert_offsets_index(parsed, source: str) -> None:
    assert parsed.chunks, "no chunks"
    for c in parsed.chunks:
        assert c.text == source[c.start:c.end], c.id
    for u in parsed.units:
        assert u.text == source[u.start:u.end], u
    for s in parsed.policy.sections:
        assert 0 <= s.start < s.end <= len(source), s


# --- plain text and markdown ------------------------------------------------------------------
NON_ASCII_SENTENCE = "Nous partageons vos données de paiement avec Stripe à Zürich — 数据 🔒 safely."

CRLF_POLICY = (
    "Privacy Policy\r\n"
    "\r\n"
    "Last updated: May 1, 2020\r\n"
    "\r\n"
    "1. Data We Collect\r\n"
    "\r\n"
    "We collect your name and postal address when you place an order with us.\r\n"
    "We also keep the café loyalty number you give us at the counter.\r\n"
    "\r\n"
    "2. Sharing\r\n"
    "\r\n"
    f"{NON_ASCII_SENTENCE}\r\n"
    "We never sell your data to brokers or advertisers of any kind.\r\n"
)


def test_crlf_and_non_ascii_txt_offsets_are_file_character_offsets(tmp_path):
    path = tmp_path / "Crlf Policy.txt"
    path.write_bytes(CRLF_POLICY.encode("utf-8"))
    doc = load_document(path)
    source = file_text(path)
    assert doc.text == source == CRLF_POLICY  # the file itself, CRLF kept
    assert doc.kind == "text" and doc.policy_id == "crlf-policy"
    parsed = parse_document(doc)
    assert_offsets_index(parsed, source)
    assert any("\r\n" in c.text for c in parsed.chunks)  # a multi-line chunk keeps its CRLFs
    # The non-ASCII sentence is a citation unit whose offsets count characters, not bytes.
    start = source.index(NON_ASCII_SENTENCE)
    assert len(source[:start].encode("utf-8")) != start  # bytes and characters differ before it
    unit = next(u for u in parsed.units if u.text == NON_ASCII_SENTENCE)
    assert (unit.start, unit.end) == (start, start + len(NON_ASCII_SENTENCE))
    assert [s.path for s in parsed.policy.sections] == [
        ("Introduction",), ("1. Data We Collect",), ("2. Sharing",)]
    assert parsed.policy.versions[0].effective_date == "2020-05-01"


def test_utf8_bom_is_kept_in_offsets_but_not_in_titles(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(("\ufeff" + CRLF_POLICY.replace("\r\n", "\n")).encode("utf-8"))
    doc = load_document(path)
    assert doc.text == file_text(path) and doc.text[0] == "\ufeff"
    parsed = parse_document(doc)
    assert_offsets_index(parsed, doc.text)
    assert parsed.policy.title == "Bom Privacy Policy"  # the BOM does not hide the title line


def test_markdown_headings_become_sections_with_file_offsets(tmp_path):
    text = (
        "# Widgets Privacy Policy\n\n"
        "_Effective: 2023-04-05_\n\n"
        "This policy explains what Widgets does with the personal data of its users.\n\n"
        "## Data we collect\n\n"
        "* Your **email address**, which you give us when you register.\n"
        "* Your IP address, which your browser sends with every request.\n\n"
        "### Cookies\n\n"
        "We set a single session cookie and no advertising cookies at all.\n\n"
        "## Your rights\n\n"
        "You may ask for a copy of your data or its deletion by writing to us.\n"
    )
    path = tmp_path / "widgets.md"
    path.write_text(text, encoding="utf-8")
    doc = load_document(path)
    assert doc.text == text and doc.kind == "text"
    parsed = parse_document(doc)
    assert_offsets_index(parsed, text)
    assert [s.path for s in parsed.policy.sections] == [
        ("Introduction",), ("Data we collect",), ("Data we collect", "Cookies"), ("Your rights",)]
    cookies = next(s for s in parsed.policy.sections if s.heading == "Cookies")
    assert text[cookies.start:].startswith("### Cookies")
    assert parsed.policy.versions[0].effective_date == "2023-04-05"
    assert parsed.policy.title == "Widgets Privacy Policy"


# --- HTML -------------------------------------------------------------------------------------
HTML_PAGE = """<!doctype html>
<html><head><title>Acme</title><style>body { color: red }</style>
<script>var tracking = "SCRIPT_SECRET";</script></head>
<body>
<header><a href="/">HEADER_LINK</a></header>
<nav><ul><li><a href="/a">NAV_ITEM_ONE</a></li><li>NAV_ITEM_TWO</li></ul></nav>
<main>
<h1>Acme Privacy Policy</h1>
<p>Last updated: March 3, 2022. This policy explains how Acme handles your personal data.</p>
<h2>Information We Collect</h2>
<p>We collect your name, email address and <b>payment details</b> when you place an order.</p>
<ul><li>Your name and postal address</li><li>Your email address and phone number</li></ul>
<h2>Sharing Your Data</h2>
<p>We share payment data with Stripe so that your orders can be processed securely.</p>
<script>document.write("INLINE_SCRIPT")</script>
<!-- COMMENT_TEXT -->
<h3>Advertising partners</h3>
<p>We never sell your personal data to advertisers or data brokers of any kind.</p>
</main>
<footer>FOOTER_TEXT &copy; 2022 Acme</footer>
</body></html>
"""


def test_html_drops_scripts_and_navigation_and_keeps_headings(tmp_path):
    path = tmp_path / "acme.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    doc = load_document(path)
    assert doc.kind == "html"
    for dropped in ("SCRIPT_SECRET", "INLINE_SCRIPT", "NAV_ITEM_ONE", "NAV_ITEM_TWO", "HEADER_LINK",
                    "FOOTER_TEXT", "COMMENT_TEXT", "color: red", "<p>", "<h2>"):
        assert dropped not in doc.text, dropped
    lines = doc.text.splitlines()
    assert "# Acme Privacy Policy" in lines
    assert "## Information We Collect" in lines and "### Advertising partners" in lines
    assert "* Your name and postal address" in lines  # list items keep a bullet
    assert ("We collect your name, email address and payment details when you place an order."
            in lines)  # inline tags are text, not line breaks
    parsed = parse_document(doc)
    assert_offsets_index(parsed, doc.text)  # citations index the extracted text
    assert [s.path for s in parsed.policy.sections] == [
        ("Introduction",), ("Information We Collect",), ("Sharing Your Data",),
        ("Sharing Your Data", "Advertising partners")]
    assert parsed.policy.title == "Acme Privacy Policy"
    assert parsed.policy.versions[0].effective_date == "2022-03-03"
    stripe = next(u for u in parsed.units if "Stripe" in u.text)
    assert stripe.text == "We share payment data with Stripe so that your orders can be processed securely."


def test_html_without_readable_text_is_refused(tmp_path):
    path = tmp_path / "empty-page.html"
    path.write_text("<html><head><script>var x = 1;</script></head><body><nav>Home</nav></body></html>",
                    encoding="utf-8")
    with pytest.raises(LoadError, match="no readable text"):
        load_document(path)


# --- PDF --------------------------------------------------------------------------------------
def make_text_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF whose pages show the given lines in Helvetica (a real text layer)."""
    objects: list[bytes] = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    font_id = 1
    content_ids = []
    for lines in pages:
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_ids.append(len(objects))
    pages_id = len(objects) + len(pages) + 1
    page_ids = []
    for cid in content_ids:
        objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (pages_id, font_id, cid))
        page_ids.append(len(objects))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>"
                   % (b" ".join(b"%d 0 R" % p for p in page_ids), len(page_ids)))
    assert len(objects) == pages_id
    objects.append(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, len(objects), xref)
    return bytes(out)


PDF_PAGES = [
    ["Acme Privacy Policy",
     "Last updated: June 30, 2021",
     "1. Information We Collect",
     "We collect your name and email address when you register an account.",
     "2. Sharing",
     "We share payment data with Stripe (our processor) to complete your orders."],
    ["3. Contact",
     "Write to privacy@acme.example with any request about your personal data."],
]


def test_pdf_text_layer_is_extracted_and_sectioned(tmp_path):
    path = tmp_path / "acme.pdf"
    path.write_bytes(make_text_pdf(PDF_PAGES))
    doc = load_document(path)
    assert doc.kind == "pdf" and doc.policy_id == "acme"
    lines = doc.text.splitlines()
    for line in [ln for page in PDF_PAGES for ln in page]:
        assert line in lines, line
    assert "\n\n3. Contact" in doc.text  # pages are separated by a blank line
    parsed = parse_document(doc)
    assert_offsets_index(parsed, doc.text)
    assert [s.path for s in parsed.policy.sections][1:] == [
        ("1. Information We Collect",), ("2. Sharing",), ("3. Contact",)]
    assert parsed.policy.versions[0].effective_date == "2021-06-30"
    assert any(u.text == "We share payment data with Stripe (our processor) to complete your orders."
               for u in parsed.units)


def test_pdf_without_text_layer_is_a_clear_load_error(tmp_path):
    from pypdf import PdfWriter

    path = tmp_path / "scan.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    with open(path, "wb") as fh:
        writer.write(fh)
    with pytest.raises(LoadError) as err:
        load_document(path)
    message = str(err.value)
    assert message == "scan.pdf: PDF has no text layer (scanned?); OCR it first"


def test_corrupt_pdf_is_a_clear_load_error(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf at all\n" * 20)
    with pytest.raises(LoadError, match=r"^broken\.pdf: (unreadable PDF|PDF has no text layer)") as err:
        load_document(path)
    # plain words for a person, no exception class names (was "unreadable PDF (PdfStreamError)")
    assert not re.search(r"\b[A-Z][a-z]+[A-Z]\w*(Error|Exception)\b|\(\w+\)", str(err.value)), str(err.value)


# --- refusals ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, content, reason", [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \n\n\t\n", "no readable text"),
    ("binary.txt", bytes(range(256)) * 8, "looks like a binary file, not text"),
    ("controls.txt", b"\x01\x02\x03\x04 abc \x05\x06\x07\x08" * 50, "looks like a binary file, not text"),
    ("latin1.txt", "Privacy Policy\n\nWe collect café data.\n".encode("latin-1"),
     "not valid UTF-8 text (byte 30)"),
    ("policy.docx", b"PK\x03\x04 zipped word document", "unsupported file type '.docx'"),
    ("README", b"Privacy Policy\n\nText.\n", "unsupported file type '(none)'"),
])
def test_bad_files_are_refused_with_one_clear_line(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError) as err:
        load_document(path)
    message = str(err.value)
    assert reason in message and name in message
    assert "\n" not in message


def test_missing_path_and_directory_are_refused(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        load_document(tmp_path / "nope.txt")
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(LoadError, match="not a regular file"):
        load_document(folder)


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    import index.load as load

    monkeypatch.setattr(load, "MAX_BYTES", 100)
    path = tmp_path / "big.txt"
    path.write_text("Privacy Policy\n\n" + "We collect data. " * 20, encoding="utf-8")
    with pytest.raises(LoadError, match="over the"):
        load_document(path)


def test_policy_ids_come_from_file_names():
    assert policy_id_for(Path("/x/AliExpress.txt")) == "aliexpress"
    assert policy_id_for(Path("My Policy (v2).TXT")) == "my-policy-v2"
    assert policy_id_for(Path("shop_name.html")) == "shop_name"
    with pytest.raises(LoadError, match="cannot derive a policy id"):
        policy_id_for(Path("(((.txt"))

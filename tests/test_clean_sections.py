"""Cleaning, headings, sections and versions: unit tests and the bundled policies' structure.

The expected section lists below were written by reading index/corpus/*.txt, not by copying
the code's output. Pure functions only (no model, no store).
"""
from __future__ import annotations

import re
from functools import lru_cache

import pytest

from index.clean import BLANK, BODY, CHROME, TITLE, TOC, VERSION, clean
from index.config import BUNDLED_CORPUS
from index.load import load_document
from index.parse import parse_document
from index.records import SourceDoc
from index.sections import build_sections, detect_heading, display_title
from index.versions import split_versions

POLICIES = ("alibaba", "aliexpress", "alipartnership", "alopal", "podpartner")
SENTENCE = "We collect several kinds of personal data about you when you use the site."


@lru_cache(maxsize=None)
def parsed(pid: str):
    return parse_document(load_document(BUNDLED_CORPUS / f"{pid}.txt"))


def source(pid: str) -> str:
    with open(BUNDLED_CORPUS / f"{pid}.txt", encoding="utf-8", newline="") as fh:
        return fh.read()


def parse_text(text: str, pid: str = "doc"):
    return parse_document(SourceDoc(policy_id=pid, path=f"/x/{pid}.txt", kind="text", text=text))


# --- headings across formats -----------------------------------------------------------------
@pytest.mark.parametrize("line, expected", [
    ("# Privacy Policy", ("md1", "Privacy Policy")),
    ("### Cookies we use", ("md3", "Cookies we use")),
    ("##### **How we use cookies**", ("md5", "How we use cookies")),
    ("**What are cookies?**", ("bold", "What are cookies?")),
    ("**I am an AliPartnership website visitor**", ("bold", "I am an AliPartnership website visitor")),
    ("**A. COLLECTION OF INFORMATION**", ("letter", "A. Collection of Information")),
    ("**J.** **HOW TO CONTACT US**", ("letter", "J. How to Contact Us")),
    ("A.COLLECTION OF INFORMATION", ("letter", "A. Collection of Information")),
    ("C.DISCLOSURE OR SHARING OF PERSONAL DATA", ("letter", "C. Disclosure or Sharing of Personal Data")),
    ("L.Privacy Representative in South Korea", ("letter", "L. Privacy Representative in South Korea")),
    ("1. Information We Collect", ("num1", "1. Information We Collect")),
    ("1.Information We Collect", ("num1", "1. Information We Collect")),
    ("1- About Your Privacy and This Privacy Policy", ("num1", "1. About Your Privacy and This Privacy Policy")),
    ("1.1 Cookies we use", ("num2", "1.1. Cookies we use")),
    ("2.3.1 Retention of logs", ("num3", "2.3.1. Retention of logs")),
    ("(a) Marketing partners", ("paren", "(a) Marketing partners")),
    ("(iv) Service providers", ("paren", "(iv) Service providers")),
    ("PART A", ("bare", "Part A")),
    ("PART B DEFINITIONS", ("bare", "Part B Definitions")),
    ("Phishing", ("bare", "Phishing")),
    ("Who does this policy apply to?", ("bare", "Who does this policy apply to?")),
    ("Information That You Provide To Us:", ("bare", "Information That You Provide To Us")),
])
def test_detect_heading_styles(line, expected):
    assert detect_heading(line, SENTENCE, SENTENCE) == expected


@pytest.mark.parametrize("line", [
    "We collect data.",                                          # a sentence
    "  Indented Title Line",                                     # indented: a wrapped or quoted line
    "* List Item Title",                                         # a bullet
    "  1. How and when you access your account;",                # a numbered list item
    "1. How and when you access your account;",                  # ends like a list item
    "(a) we collect it when you register;",                      # a clause, not a title
    "Legal basis for processing data: contract, legal rights",   # a "label: value" line
    "Name: Hyung Kwon Chung",
    "www.aliexpress.com",
    "https://www.alibaba.com/",
    "**Note: this policy applies to the collection, use and disclosure of information,**",
    "PART A: New Version (Effective as of January 17,2019)",
    "x" * 120,
])
def test_detect_heading_rejects_non_headings(line):
    assert detect_heading(line, SENTENCE, SENTENCE) is None


def test_bare_headings_need_a_sentence_before_and_text_after():
    assert detect_heading("Phishing", SENTENCE, SENTENCE) == ("bare", "Phishing")
    assert detect_heading("Phishing", "Google Analytics", SENTENCE) is None  # after a table cell
    assert detect_heading("Phishing", SENTENCE, "Facebook") is None           # before a table cell
    assert detect_heading("Phishing", SENTENCE, None) is None                 # nothing follows
    assert detect_heading("Phishing", None, SENTENCE) == ("bare", "Phishing")  # first line


@pytest.mark.parametrize("raw, title", [
    ("A.COLLECTION OF INFORMATION", "A. Collection of Information"),
    ("I.\u00a0 \u00a0LANGUAGE.", "I. Language"),
    ("J. VISITORS FROM THE EUROPEAN UNION", "J. Visitors from the European Union"),
    ("VISITORS FROM THE EUROPEAN UNION", "Visitors from the European Union"),
    ("HOW TO CONTACT US", "How to Contact Us"),
    ("THE RIGHTS OF USERS", "The Rights of Users"),
    ("1- About You", "1. About You"),
    ("1.2) Sub Title", "1.2. Sub Title"),
    ("What are cookies?:", "What are cookies?"),
    ("Keep PODpartner running", "Keep PODpartner running"),
    ("GDPR Data Protection Rights", "GDPR Data Protection Rights"),
])
def test_display_title(raw, title):
    assert display_title(raw) == title


def test_heading_styles_nest_by_rank_into_paths():
    text = "\n\n".join([
        "Example Privacy Policy",
        "Last updated: 3 February 2022",
        SENTENCE,
        "PART A",
        SENTENCE,
        "1. Data we collect",
        SENTENCE,
        "1.1 Account data",
        SENTENCE,
        "(a) Payment details",
        SENTENCE,
        "(b) Contact details",
        SENTENCE,
        "1.2 Device data",
        SENTENCE,
        "2. Sharing",
        SENTENCE,
        "PART B",
        SENTENCE,
        "1. Cookies",
        SENTENCE,
    ]) + "\n"
    p = parse_text(text)
    paths = [s.path for s in p.policy.sections]
    # Numbered headings outrank the bare "PART" lines here: STYLE_RANK puts num before bare.
    assert paths == [
        ("Introduction",),
        ("Part A",),
        ("1. Data we collect",),
        ("1. Data we collect", "1.1. Account data"),
        ("1. Data we collect", "1.1. Account data", "(a) Payment details"),
        ("1. Data we collect", "1.1. Account data", "(b) Contact details"),
        ("1. Data we collect", "1.2. Device data"),
        ("2. Sharing",),
        ("2. Sharing", "Part B"),
        ("1. Cookies",),
    ]
    assert p.policy.versions[0].effective_date == "2022-02-03"


def test_markdown_and_bold_headings_nest():
    text = ("# Shop Privacy Policy\n\n" + SENTENCE + "\n\n## Data\n\n" + SENTENCE +
            "\n\n**Cookies**\n\n" + SENTENCE + "\n\n**Logs**\n\n" + SENTENCE +
            "\n\n## Rights\n\n" + SENTENCE + "\n")
    paths = [s.path for s in parse_text(text).policy.sections]
    assert paths == [("Introduction",), ("Data",), ("Data", "Cookies"), ("Data", "Logs"), ("Rights",)]


def test_table_header_cells_are_not_headings():
    rows = ["**Provider**", "**Cookie**", "**Purpose**", "Google", "_ga, _gat", "Analytics for the site",
            "Acme", "sid", "Keeps you signed in to your account across pages"]
    text = "## Cookies\n\n" + SENTENCE + "\n\n" + "\n\n".join(rows) + "\n\n" + SENTENCE + "\n"
    paths = [s.path for s in parse_text(text).policy.sections]
    assert paths == [("Cookies",)]


def test_section_ranges_nest_and_do_not_overlap_siblings():
    for pid in POLICIES:
        sections = parsed(pid).policy.sections
        for i, s in enumerate(sections):
            assert s.start < s.end, (pid, s)
            for t in sections[i + 1:]:
                if t.version != s.version or t.start >= s.end:
                    continue
                # Anything that starts inside s must be one of its subsections.
                assert t.path[:len(s.path)] == s.path, (pid, s.path, s.end, t.path, t.start)


# --- cleaning --------------------------------------------------------------------------------
def test_clean_labels_chrome_title_version_and_keeps_offsets():
    text = ("Sign In | Join Free\r\n"
            "Home | Products | Help | Contact\r\n"
            "<. Back to list\r\n"
            "Acme Privacy Policy\r\n"
            "\r\n"
            "**PART A: New Version (Effective as of May 5, 2021)**\r\n"
            + SENTENCE + "\r\n"
            "PART B: Old Version (Effective as of May 5, 2019)\r\n"
            + SENTENCE + "\r\n"
            "Is this helpful for you?\r\n"
            "YesNo\r\n"
            "© 2021 Acme Inc. All rights reserved.\r\n"
            "abcdef0123456789\r\n")
    doc = clean(text)
    assert [ln.text for ln in doc.lines] == text.split("\r\n")[:-1]
    for ln in doc.lines:
        assert text[ln.start:ln.end] == ln.text and "\r" not in ln.text
    assert doc.labels == [CHROME, CHROME, CHROME, TITLE, BLANK, VERSION, BODY, VERSION, BODY,
                          CHROME, CHROME, CHROME, CHROME]
    assert doc.title == "Acme Privacy Policy"


def test_text_before_the_title_is_page_chrome():
    text = "Help Center\nHomepageFAQ\nCategories\nAccount Management\nShop Privacy Policy\n\n" + SENTENCE + "\n"
    doc = clean(text)
    assert doc.labels[:5] == [CHROME, CHROME, CHROME, CHROME, TITLE]
    assert doc.labels[-1] == BODY


def test_marked_table_of_contents_is_labelled_toc():
    text = ("Shop Privacy Policy\n\nContents:\n\n1. Data\n\n2. Use\n\n* Sub entry\n\n3. Rights\n\n"
            + SENTENCE + "\n\n1. Data\n\n" + SENTENCE + "\n")
    doc = clean(text)
    labels = {ln.text: lab for ln, lab in zip(doc.lines, doc.labels) if ln.text}
    assert [lab for ln, lab in zip(doc.lines, doc.labels) if ln.text][:7] == [
        TITLE, TOC, TOC, TOC, TOC, TOC, BODY]
    assert labels[SENTENCE] == BODY


def test_unmarked_table_of_contents_stops_at_the_first_heading():
    """Regression: the body's first heading, right after an unlabelled TOC, was swallowed as a
    TOC entry (its text then belonged to the Introduction)."""
    headings = ["1. Information We Collect", "2. How We Use Information", "3. Sharing", "4. Your Rights"]
    text = "Acme Privacy Policy\n\n" + "\n".join(headings) + "\n\n"
    text += "".join(f"{h}\n\n{SENTENCE}\n\n" for h in headings)
    doc = clean(text)
    toc = [ln.text for ln in doc.lines_with(TOC)]
    assert toc == headings
    body_headings = [ln.text for ln in doc.lines_with(BODY) if ln.text in headings]
    assert body_headings == headings
    p = parse_text(text)
    assert [s.heading for s in p.policy.sections] == ["Introduction"] + headings
    first = next(s for s in p.policy.sections if s.heading == headings[0])
    assert text[first.start:].startswith(headings[0] + "\n\n" + SENTENCE)
    assert first.start == text.index(headings[0], text.index(headings[-1]))


def test_numbered_headings_without_a_toc_stay_body():
    text = "Acme Privacy Policy\n\n" + "".join(f"{i}. Heading {i}\n\n{SENTENCE}\n\n" for i in range(1, 6))
    doc = clean(text)
    assert not doc.lines_with(TOC)


# --- the bundled policies --------------------------------------------------------------------
EXPECTED_TOP = {
    ("alibaba", "2019-01-17"): [
        "Introduction", "A. Collection of Information", "B. Use of Personal Information",
        "C. Disclosure or Sharing of Personal Information", "D. Retention", "E. Cookies",
        "F. Changes to This Privacy Policy", "G. Visitors from the European Union",
        "H. How to Contact Us", "I. Language"],
    ("alibaba", "2018-05-25"): [
        "Introduction", "A. Collection of Information", "B. Use of Personal Data",
        "C. Disclosure of Personal Data", "D. Rights Regarding Personal Data", "E. Cookies", "F. Minors",
        "G. Security Measures", "H. Changes to This Privacy Policy", "I. Visitors from the European Union",
        "J. How to Contact Us"],
    ("aliexpress", "2020-09-09"): [
        "Introduction", "A. Collection of Information", "B. Use of Personal Data",
        "C. Disclosure or Sharing of Personal Data", "D. Retention", "E. Rights Regarding Personal Data",
        "F. Cookies", "G. Minors", "H. Security Measures", "I. Changes to This Privacy Policy",
        "J. Visitors from the European Union", "K. Visitors from California",
        "L. Privacy Representative in South Korea", "M. Language", "N. How to Contact Us"],
    ("alipartnership", "2018-05-24"): [
        "Introduction",
        "I am an AliPartnership website visitor",
        "What personal details we collect from the AliPartnership website visitors",
        "Why we collect these details from the AliPartnership website visitors",
        "What personal details of the AliPartnership website visitors we share with third parties",
        "I am an AliPartnership company client",
        "What personal details we collect from the AliPartnership clients",
        "Why we collect these details from the AliPartnership clients",
        "What personal details of the AliPartnership clients we share with third parties",
        "I am an AliPartnership affiliate",
        "What personal details we collect from the AliPartnership affiliates",
        "Why we collect these details from the AliPartnership clients",  # sic: the file repeats it
        "How we protect your personal information",
        "How we use cookies"],
    # The file has no introduction; its "Introduction" is the title line "Privacy Policy" alone.
    ("alopal", None): [
        "Introduction", "1. About Your Privacy and This Privacy Policy", "What Information We Collect",
        "How We Use the Information", "Confidentiality & Security of Personally Identifiable Information",
        "Personal Information We Collect", "Cookies and Web Beacons",
        "Our commitment to protecting your personal information",
        "How we collect, use and disclose personal information", "Information you disclose publicly",
        "External Links", "Acceptance of this Policy", "Phishing", "Service Providers",
        "International Transfer", "Compliance with Laws and Law Enforcement", "Changes to the Privacy Policy",
        "Contacting us", "Right to Request Deletion of Information", "Non-Discrimination"],
    ("podpartner", "2021-12-07"): [
        "Introduction", "Who does this policy apply to?", "1. Information We Collect",
        "2. How and why we use your data", "3. How we use the collected information", "4. Retention periods",
        "5. GDPR Data Protection Rights", "5. Privacy Policy changes", "6. Contact information"],
}

# Subsections a reader finds under these top-level sections (table header cells excluded).
EXPECTED_CHILDREN = {
    ("alibaba", "2019-01-17", "A. Collection of Information"): [
        "Information you provide to us", "Information that we collect automatically",
        "Information that we receive from third parties"],
    ("alibaba", "2019-01-17", "G. Visitors from the European Union"): [
        "Legal basis for data processing", "International transfers of personal information", "Your rights"],
    ("alibaba", "2018-05-25", "I. Visitors from the European Union"): [
        "Legal Basis for Data Processing", "International Transfers of Personal Data", "Your Rights"],
    ("alibaba", "2018-05-25", "E. Cookies"): ["Google Analytics"],
    ("aliexpress", "2020-09-09", "A. Collection of Information"): [
        "Information That You Provide To Us", "Information That We Collect Automatically",
        "Information That We Receive From Third Parties"],
    ("aliexpress", "2020-09-09", "F. Cookies"): [
        "What are cookies?", "Why we use cookies?", "What about other tracking technologies, like web beacons?",
        "How can I control cookies?"],
    ("aliexpress", "2020-09-09", "J. Visitors from the European Union"): [
        "Legal Basis for Data Processing", "International Transfers of personal information", "Your Rights"],
    ("podpartner", "2021-12-07", "2. How and why we use your data"): [
        "Keep PODpartner running", "Improve PODpartner", "Customer Support",
        "Marketing purpose (with your consent)"],
}


@pytest.mark.parametrize("pid, label", sorted(EXPECTED_TOP, key=str))
def test_bundled_policy_top_level_sections(pid, label):
    sections = [s for s in parsed(pid).policy.sections if s.version == label]
    assert [s.heading for s in sections if len(s.path) == 1] == EXPECTED_TOP[(pid, label)]


@pytest.mark.parametrize("pid, label, parent", sorted(EXPECTED_CHILDREN))
def test_bundled_policy_subsections(pid, label, parent):
    sections = [s for s in parsed(pid).policy.sections if s.version == label]
    children = [s.heading for s in sections if s.path[:-1] == (parent,)]
    assert children == EXPECTED_CHILDREN[(pid, label, parent)]


def test_alibaba_current_cookie_subsections_include_the_real_ones():
    sections = [s for s in parsed("alibaba").policy.sections if s.version == "2019-01-17"]
    children = [s.heading for s in sections if s.path[:-1] == ("E. Cookies",)]
    real = ["What are cookies?", "Why we use cookies?", "Cookies we use",
            "What about other tracking technologies, like web beacons?", "How can I control cookies?"]
    assert [c for c in children if c in real] == real


def test_sections_start_at_their_heading_line():
    for pid in POLICIES:
        text = source(pid)
        for s in parsed(pid).policy.sections:
            if s.heading == "Introduction":
                continue
            line = text[s.start:text.find("\n", s.start)]
            words = re.findall(r"[a-z]+", s.heading.lower())
            assert all(w in line.lower() for w in words), (pid, s.heading, line)


def test_section_paths_in_sections_and_chunks():
    ali = parsed("aliexpress")
    paths = {s.path_str for s in ali.policy.sections}
    assert "C. Disclosure or Sharing of Personal Data" in paths
    assert "J. Visitors from the European Union > Your Rights" in paths
    chunk_sections = {c.section for c in ali.chunks}
    assert "C. Disclosure or Sharing of Personal Data" in chunk_sections
    assert "J. Visitors from the European Union > Your Rights" in chunk_sections
    rights = next(c for c in ali.chunks if c.section == "J. Visitors from the European Union > Your Rights")
    assert rights.text.startswith("Your Rights")
    assert "The right to access, correct, update or request deletion" in rights.text


def test_versions_and_dates():
    alibaba = parsed("alibaba").policy.versions
    assert [(v.label, v.effective_date, v.current) for v in alibaba] == [
        ("2019-01-17", "2019-01-17", True), ("2018-05-25", "2018-05-25", False)]
    text = source("alibaba")
    assert text[alibaba[0].start:].startswith("**PART A: New")
    assert text[alibaba[1].start:].startswith("**PART B: Old")
    assert alibaba[0].end <= alibaba[1].start
    # Each version's chunks hold only that version's text.
    for c in parsed("alibaba").chunks:
        v = alibaba[0] if c.version == "2019-01-17" else alibaba[1]
        assert v.start <= c.start < c.end <= v.end and c.current == v.current
    assert "January 17,2019" in parsed("alibaba").chunks[0].text  # the marker line is cited too
    expected = {"aliexpress": "2020-09-09", "podpartner": "2021-12-07", "alipartnership": "2018-05-24",
                "alopal": None}
    for pid, date in expected.items():
        versions = parsed(pid).policy.versions
        assert [(v.label, v.effective_date, v.current) for v in versions] == [(date, date, True)], pid


def test_policy_titles():
    titles = {pid: parsed(pid).policy.title for pid in POLICIES}
    assert titles == {"alibaba": "Alibaba Privacy Policy", "aliexpress": "AliExpress.com Privacy Policy",
                      "alipartnership": "AliPartnership Privacy Policy", "alopal": "AloPal Privacy Policy",
                      "podpartner": "PODpartner Privacy Policy"}
    # A title that names its owner is kept as written; a generic one gets the brand in front.
    assert parse_text("Tiny Shop Privacy Policy\n\n" + SENTENCE + "\n", "tiny-shop").policy.title == \
        "Tiny Shop Privacy Policy"
    assert parse_text("Privacy Notice\n\n" + SENTENCE + "\n", "acme").policy.title == "Acme Privacy Notice"


# --- nothing from the page frame or the tables of contents reaches a chunk ------------------
CHROME_SUBSTRINGS = [
    "Sign In | Join Free", "HomepageFAQ", "Is this helpful for you?", "YesNo", "icburule011001089043",
    "© 1999-2016", "Table of Contents", "Browse Alphabetically", "> *The following text is extracted",
    "Wayback Machine", "Join Free", "Manage Buying Requests", "Back to list", "Taobao Marketplace | Tmall",
    "Follow Us", "Categories /Rules & Policies", "Coupon & Promotion", "简体中文",
    "Product Listing Policy - Intellectual Property Policy",
]
CHROME_LINES = ["Help Center", "Categories", "Refund", "Aftersales", "Other", "Alibaba.com English",
                "Advanced Search", "Products", "Suppliers"]


def _toc_entry_lines(pid: str) -> list[str]:
    """The non-blank lines between each 'Table of Contents' and the first body paragraph after it."""
    ends = {"alibaba": ["**Note: this Alibaba.com Privacy Policy", "Aliexpress.com and Alibaba.com (each"],
            "aliexpress": ["We at Alibaba (“we”, or “us”)"]}[pid]
    lines = source(pid).split("\n")
    starts = [i for i, ln in enumerate(lines) if ln.strip() == "Table of Contents"]
    assert len(starts) == len(ends)
    out = []
    for start, end in zip(starts, ends):
        stop = next(i for i, ln in enumerate(lines) if i > start and ln.startswith(end))
        out.extend(ln.strip() for ln in lines[start + 1:stop] if ln.strip())
    return out


def _toc_ranges(pid: str) -> list[tuple[int, int]]:
    """Offsets from each 'Table of Contents' line to the first body paragraph after it."""
    text = source(pid)
    ends = {"alibaba": ["**Note: this Alibaba.com Privacy Policy", "Aliexpress.com and Alibaba.com (each"],
            "aliexpress": ["We at Alibaba (“we”, or “us”)"]}[pid]
    out, pos = [], 0
    for end in ends:
        a = text.index("Table of Contents", pos)
        pos = text.index(end, a)
        out.append((a, pos))
    return out


def test_toc_entry_lines_read_from_the_files():
    assert len(_toc_entry_lines("aliexpress")) == 19
    assert _toc_entry_lines("aliexpress")[-1] == "M.HOW TO CONTACT US."
    alibaba = _toc_entry_lines("alibaba")
    assert len(alibaba) == 15 + 13
    assert alibaba[0] == "A. COLLECTION OF INFORMATION." and alibaba[-1].startswith("J. HOW TO CONTACT US.")


@pytest.mark.parametrize("pid", POLICIES)
def test_no_chrome_or_toc_line_leaks_into_chunks_or_units(pid):
    p = parsed(pid)
    texts = [c.text for c in p.chunks] + [u.text for u in p.units]
    for t in texts:
        for bad in CHROME_SUBSTRINGS:
            assert bad not in t, (pid, bad)
        lines = {ln.strip() for ln in t.splitlines()}
        for bad in CHROME_LINES:
            assert bad not in lines, (pid, bad)
    if pid in ("alibaba", "aliexpress"):
        # TOC entries worded differently from their body headings must appear in no chunk
        # (the ones worded identically, e.g. "D.RETENTION", are checked by offset below).
        text = source(pid)
        outside = text
        for a, b in _toc_ranges(pid):
            outside = outside[:a] + " " * (b - a) + outside[b:]
        body_lines = {ln.strip() for ln in outside.split("\n")}
        distinct = set(_toc_entry_lines(pid)) - body_lines
        assert len(distinct) >= 10
        for c in p.chunks:
            leaked = distinct & {ln.strip() for ln in c.text.splitlines()}
            assert not leaked, (pid, leaked)


@pytest.mark.parametrize("pid", ["alibaba", "aliexpress"])
def test_no_chunk_overlaps_a_table_of_contents(pid):
    ranges = _toc_ranges(pid)
    assert len(ranges) == {"alibaba": 2, "aliexpress": 1}[pid]
    for c in parsed(pid).chunks:
        for a, b in ranges:
            assert c.end <= a or c.start >= b, (pid, c.id, c.section)


@pytest.mark.parametrize("pid", POLICIES)
def test_chunks_cover_none_of_the_chrome_offsets(pid):
    """Offset check, independent of labels: the page frame's lines lie outside every chunk."""
    text = source(pid)
    frame = {
        "alibaba": lambda: [(0, text.index("**PART A: New")), (text.index("Free APP: Available"), len(text))],
        "aliexpress": lambda: [(0, text.index("AliExpress.com Privacy Policy")),
                               (text.index("Is this helpful for you?"), len(text))],
        "alipartnership": lambda: [(0, text.index("# Privacy Policy"))],
        "alopal": lambda: [(0, 0)], "podpartner": lambda: [(0, 0)],
    }[pid]()
    for c in parsed(pid).chunks:
        for a, b in frame:
            assert c.end <= a or c.start >= b, (pid, c.id, (a, b))


def test_aliexpress_toc_is_skipped_and_body_sections_a_to_n_present():
    text = source("aliexpress")
    body_start = text.index("We at Alibaba (“we”, or “us”)")
    toc_start = text.index("Table of Contents")
    p = parsed("aliexpress")
    letters = [s.heading.split(".")[0] for s in p.policy.sections if len(s.path) == 1 and s.heading != "Introduction"]
    assert letters == list("ABCDEFGHIJKLMN")
    for s in p.policy.sections:
        if s.heading != "Introduction":
            assert s.start > body_start, s.heading  # never a TOC entry
    for c in p.chunks:
        assert c.end <= toc_start or c.start >= body_start, c.id
    # "K." in the TOC is the Korean representative; in the body it is California.
    assert "K. Visitors from California" in [s.heading for s in p.policy.sections]


def test_alipartnership_wayback_note_and_title_are_not_sections():
    p = parsed("alipartnership")
    assert all("following text is extracted" not in c.text for c in p.chunks)
    assert "Privacy Policy" not in [s.heading for s in p.policy.sections]
    intro = next(c for c in p.chunks if c.section == "Introduction")
    assert "compliant with The General Data Protection Regulation" in intro.text
    stripe = [c for c in p.chunks if "Stripe (online payment processing service)" in c.text]
    assert [c.section for c in stripe] == [
        "What personal details of the AliPartnership clients we share with third parties"]


def test_split_versions_without_markers_uses_the_stated_date():
    doc = clean("Acme Privacy Policy\n\nThis policy was last revised on 2nd March 2020.\n\n" + SENTENCE + "\n")
    versions = split_versions(doc)
    assert [(v.label, v.effective_date, v.current) for v in versions] == [("2020-03-02", "2020-03-02", True)]
    assert build_sections(doc, versions[0])[0].heading == "Introduction"


def test_split_versions_newest_is_current_whatever_the_order():
    text = ("Acme Privacy Policy\n\nOld version (effective June 1, 2018)\n\n" + SENTENCE +
            "\n\nNew version (effective July 2, 2021)\n\n" + SENTENCE + "\n")
    versions = split_versions(clean(text))
    assert [(v.label, v.current) for v in versions] == [("2018-06-01", False), ("2021-07-02", True)]
    assert versions[0].start == 0  # the title before the first marker belongs to the first version


def test_a_name_with_its_web_address_is_a_citation_unit():
    """Cookie vendors listed as "Criteo https://www.criteo.com/" can be cited; bare two-word
    fragments still cannot."""
    units = {u.text for u in parsed("alibaba").units}
    assert "Criteo https://www.criteo.com/" in units
    assert "Yandex https://yandex.com" in units
    assert not any(len(u.split()) < 3 and "http" not in u and "www." not in u and "@" not in u for u in units)


def test_a_bold_section_letter_does_not_end_a_sentence():
    units = [u.text for u in parsed("alibaba").units]
    assert any(u.startswith("If you are a resident of the EEA") and u.endswith("below:") for u in units)

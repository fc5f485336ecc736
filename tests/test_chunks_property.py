"""Chunk invariants, for the bundled policies and for generated documents (hypothesis).

For every parsed document:
  * every chunk's and unit's text is exactly ``source[start:end]``;
  * chunks do not overlap, and each lies inside its version;
  * the chunks of a version cover every non-whitespace character of the lines that cleaning
    labelled 'body' inside that version (heading lines included: a section's chunks start at
    its heading line);
  * chunk ids are unique and every unit lies inside its chunk.
Pure functions only (index.parse.parse_document on a SourceDoc); no model, no store.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.clean import BODY, clean
from index.config import BUNDLED_CORPUS
from index.parse import parse_document
from index.records import SourceDoc

MAX_TOKENS = 200


def check_invariants(text: str, max_tokens: int = MAX_TOKENS) -> None:
    parsed = parse_document(SourceDoc(policy_id="gen", path="/gen.txt", kind="text", text=text), max_tokens)
    chunks = parsed.chunks
    for c in chunks:
        assert c.text == text[c.start:c.end], c
        assert c.start < c.end and c.text.strip(), c
    assert len({c.id for c in chunks}) == len(chunks)
    ordered = sorted(chunks, key=lambda c: c.start)
    for a, b in zip(ordered, ordered[1:]):
        assert a.end <= b.start, (a, b)
    by_id = {c.id: c for c in chunks}
    for u in parsed.units:
        assert u.text == text[u.start:u.end]
        chunk = by_id[u.chunk_id]
        assert chunk.start <= u.start < u.end <= chunk.end, (u, chunk)

    doc = clean(text)
    versions = parsed.policy.versions
    for v in versions:
        mine = [c for c in chunks if v.start <= c.start < v.end]
        for c in mine:
            assert c.end <= v.end and c.version == v.label and c.current == v.current
        covered = bytearray(len(text))
        for c in mine:
            covered[c.start:c.end] = b"\x01" * (c.end - c.start)
        for ln, lab in zip(doc.lines, doc.labels):
            if lab != BODY or not v.start <= ln.start < v.end:
                continue
            missing = [i for i in range(ln.start, ln.end) if not text[i].isspace() and not covered[i]]
            assert not missing, (v, ln, lab)
    # Every chunk belongs to exactly one version.
    for c in chunks:
        assert sum(v.start <= c.start < v.end for v in versions) == 1, c
    if any(lab == BODY for lab in doc.labels):
        assert chunks


# --- the bundled policies --------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(BUNDLED_CORPUS.glob("*.txt")), ids=lambda p: p.stem)
@pytest.mark.parametrize("max_tokens", [200, 60])
def test_bundled_policies_chunk_invariants(path, max_tokens):
    with open(path, encoding="utf-8", newline="") as fh:
        text = fh.read()
    check_invariants(text, max_tokens)
    check_invariants(text.replace("\n", "\r\n"), max_tokens)


# --- generated documents ---------------------------------------------------------------------
WORDS = ["data", "personal", "information", "we", "collect", "share", "your", "the", "with", "partners",
         "cookies", "payment", "Stripe", "café", "données", "用户", "数据", "🔒", "e.g.", "Inc.", "U.S.",
         "rights", "delete", "account", "retention", "(see", "below)", "—", "“quoted”", "a", "of"]

word = st.sampled_from(WORDS)
sentence = st.lists(word, min_size=1, max_size=30).map(
    lambda ws: ws[0][:1].upper() + " ".join(ws)[1:]).flatmap(
    lambda s: st.sampled_from([".", "!", "?", ";", ",", ":", ""]).map(lambda end: s + end))
paragraph = st.lists(sentence, min_size=1, max_size=12).map(" ".join)
title_words = st.lists(st.sampled_from(["Data", "Your", "Rights", "Cookies", "Sharing", "of", "Personal",
                                        "Information", "How", "We", "Use", "Contact", "Us", "the"]),
                       min_size=1, max_size=6).map(" ".join)
letter = st.sampled_from("ABCDEFGHIJ")
number = st.integers(min_value=1, max_value=12).map(str)

heading = st.one_of(
    st.builds(lambda n, t: "#" * n + " " + t, st.integers(1, 6), title_words),
    st.builds(lambda t: f"**{t}**", title_words),
    st.builds(lambda l, t: f"{l}. {t.upper()}", letter, title_words),
    st.builds(lambda l, t: f"**{l}. {t.upper()}**", letter, title_words),
    st.builds(lambda n, t: f"{n}. {t}", number, title_words),
    st.builds(lambda n, m, t: f"{n}.{m} {t}", number, number, title_words),
    st.builds(lambda l, t: f"({l.lower()}) {t}", letter, title_words),
    st.builds(lambda l: f"PART {l}", letter),
    title_words,
)
list_item = st.builds(lambda mark, s: mark + s,
                      st.sampled_from(["* ", "  * ", "- ", "· ", "•      ", "  1. ", "o ", "    o "]), sentence)
special = st.sampled_from([
    "Privacy Policy", "Acme Privacy Notice", "Last updated: December 07, 2021", "(Effective as of 9 May 2020)",
    "**PART A: New Version** **(Effective as of January 17,2019)**", "PART B: Old Version (Effective as of May 25, 2018)",
    "Table of Contents", "Contents:", "Sign In | Join Free", "Home | About | Help | Contact", "© 1999-2016 Acme.",
    "Is this helpful for you?", "YesNo", "icburule011001089043", "<. Back to list", "Categories /Rules/Privacy",
    "\u00a0", "\t", "   ",
])
line = st.one_of(paragraph, paragraph, heading, list_item, special, st.just(""),
                 st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))


@st.composite
def documents(draw):
    lines = draw(st.lists(line, min_size=1, max_size=40))
    newline = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    if newline == "mixed":
        ends = draw(st.lists(st.sampled_from(["\n", "\r\n", "\n\n", "\r\n\r\n"]),
                             min_size=len(lines), max_size=len(lines)))
    else:
        ends = [newline * draw(st.integers(1, 2)) for _ in lines]
    return "".join(ln + end for ln, end in zip(lines, ends))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from([200, 40]))
@example("Acme Privacy Policy\n\n1. Data\n2. Use\n3. Sharing\n4. Rights\n\n1. Data\n\n"
         "We collect your name.\n\n2. Use\n\nWe use it.\n\n3. Sharing\n\nWe share it.\n\n4. Rights\n\n"
         "You may delete it.\n", 200)
@example("PART A: New Version (Effective as of May 5, 2021)\r\nPrivacy Policy\r\n\r\nWe keep data.\r\n"
         "PART B: Old Version (Effective as of May 5, 2019)\r\nWe kept data.\r\n", 200)
@example("Privacy Policy\n\n" + "Run-on words without any sentence end " * 80 + "\n", 40)
def test_generated_documents_chunk_invariants(text, max_tokens):
    check_invariants(text, max_tokens)

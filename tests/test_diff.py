"""The version diff on the bundled alibaba policy (2018 → 2019): pure parsing, no model."""
from __future__ import annotations

import pytest

from index.config import BUNDLED_CORPUS
from index.load import load_document
from index.parse import parse_document
from insights.changes import diff_for_question
from index.errors import VersionError
from insights.diff import default_versions, diff_versions
from insights.render import diff_markdown


@pytest.fixture(scope="module")
def alibaba():
    doc = load_document(BUNDLED_CORPUS / "alibaba.txt")
    return doc.text, parse_document(doc)


@pytest.fixture(scope="module")
def diff(alibaba):
    _, parsed = alibaba
    return diff_versions(parsed, *default_versions(parsed))


def sentences(change, side):
    return [s.sentence.text for s in getattr(change, side)]


def test_defaults_compare_the_previous_version_with_the_current_one(diff):
    assert (diff.old_version, diff.new_version) == ("2018-05-25", "2019-01-17")


def test_every_changed_sentence_is_a_verbatim_span_of_its_version(alibaba, diff):
    source, parsed = alibaba
    spans = {v.label: (v.start, v.end) for v in parsed.policy.versions}
    checked = 0
    for change in diff.sections:
        for s in change.added + change.removed:
            cite = s.citation("alibaba").to_dict()
            assert source[cite["start"]:cite["end"]] == cite["quote"]
            lo, hi = spans[cite["version"]]
            assert lo <= cite["start"] < cite["end"] <= hi, cite
            checked += 1
    assert checked > 100


def test_2019_covers_alibaba_com_only_and_refers_aliexpress_users_to_their_policy(diff):
    intro = next(c for c in diff.sections if c.new and c.new.path == "Introduction")
    assert intro.status == "changed"
    added, removed = " ".join(sentences(intro, "added")), " ".join(sentences(intro, "removed"))
    assert "applies to the collection, use and disclosure of information in connection with the products and " \
           "services offered by Alibaba.com" in added
    assert "Please refer to AliExpress.com Privacy Policy" in added
    assert "Aliexpress.com and Alibaba.com (each a \"Site\"" in removed
    # the version markers ("PART A: New Version ...") are not content changes
    assert not any("Version" in s and "PART" in s for s in sentences(intro, "added") + sentences(intro, "removed"))


def test_sections_added_removed_and_renamed_are_aligned(diff):
    by_status = {}
    for c in diff.sections:
        by_status.setdefault(c.status, []).append(c)
    removed = {c.old.path for c in by_status["removed"]}
    added = {c.new.path for c in by_status["added"]}
    assert {"F. Minors", "G. Security Measures", "D. Rights Regarding Personal Data"} <= removed
    assert {"D. Retention", "E. Cookies > What are cookies?", "I. Language"} <= added
    renamed = {(c.old.path, c.new.path) for c in by_status["changed"]}
    assert ("B. Use of Personal Data", "B. Use of Personal Information") in renamed
    assert ("J. How to Contact Us", "H. How to Contact Us") in renamed
    assert ("I. Visitors from the European Union > Your Rights",
            "G. Visitors from the European Union > Your rights") in renamed


def test_the_contact_change_names_the_new_address(diff):
    contact = next(c for c in diff.sections if c.new and c.new.path == "H. How to Contact Us")
    assert any("DataProtection@service.alibaba.com" in s for s in sentences(contact, "added"))
    assert any("DataProtection.AE@aliexpress.com" in s for s in sentences(contact, "removed"))


def test_unknown_and_single_versions_are_refused(alibaba):
    _, parsed = alibaba
    with pytest.raises(VersionError, match="no version '2017'"):
        diff_versions(parsed, "2017", "2019-01-17")
    single = parse_document(load_document(BUNDLED_CORPUS / "podpartner.txt"))
    with pytest.raises(VersionError, match="one version only"):
        default_versions(single)


def test_what_changed_about_cookies_uses_the_alignment(diff):
    answer = diff_for_question(diff, "What changed about cookies?")
    assert answer.sections and all("Cookies" in c.title for c in answer.sections)
    assert {c.version for c in answer.citations} == {"2018-05-25", "2019-01-17"}
    assert all("cookie" in c.quote.lower() for c in answer.citations)
    security = diff_for_question(diff, "Did the security section change?")
    assert [c.old.path for c in security.sections] == ["G. Security Measures"]
    assert "Removed: G. Security Measures" in security.text
    nothing = diff_for_question(diff, "What changed about the weather on Mars?")
    assert not nothing.citations and "no section about that changed" in nothing.text


def test_markdown_lists_every_changed_section(diff):
    md = diff_markdown(diff, max_sentences=2)
    assert md.startswith("Alibaba Privacy Policy: version 2018-05-25 → 2019-01-17.")
    assert md.count("\n#### ") == sum(1 for c in diff.sections if c.status != "unchanged" or c.moved)
    assert "#### Removed: F. Minors" in md

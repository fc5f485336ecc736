"""Pure ingestion of one document: clean → versions → sections → chunks → units."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from index.chunk import DEFAULT_MAX_TOKENS, chunk_version, units_of_chunk, with_list_intros
from index.clean import clean
from index.records import Chunk, Policy, SourceDoc, Unit
from index.sections import build_sections
from index.versions import split_versions


PIPELINE_VERSION = "9"  # 9: Unit.opens; a list goes on into the chunks that continue its section
GENERIC_TITLES = {"privacy policy", "privacy notice", "privacy statement"}


@dataclass
class ParsedPolicy:
    policy: Policy
    gen: str
    chunks: list[Chunk]
    units: list[Unit]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generation(text_hash: str, max_tokens: int, model: str) -> str:
    """Identifies a policy's index content: its text and every setting that shapes chunks."""
    key = f"{text_hash}|{PIPELINE_VERSION}|{max_tokens}|{model}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def parse_document(doc: SourceDoc, max_tokens: int = DEFAULT_MAX_TOKENS, model: str = "") -> ParsedPolicy:
    """Everything the index needs from one policy's source text."""
    text_hash = content_hash(doc.text)
    gen = generation(text_hash, max_tokens, model)
    cleaned = clean(doc.text)
    versions = split_versions(cleaned)
    sections, chunks, units = [], [], []
    for version in versions:
        version_sections = build_sections(cleaned, version)
        sections.extend(version_sections)
        version_chunks = chunk_version(cleaned, version, version_sections, doc.policy_id,
                                       f"{doc.policy_id}@{gen}", max_tokens)
        heading_starts = {s.start for s in version_sections if s.heading != "Introduction"}
        version_units = [u for chunk in version_chunks for u in units_of_chunk(cleaned, chunk, heading_starts)]
        units.extend(with_list_intros(version_units, version_chunks))
        chunks.extend(version_chunks)
    policy = Policy(id=doc.policy_id, title=policy_title(doc, cleaned.title), path=doc.path,
                    kind=doc.kind, content_hash=text_hash, versions=versions,
                    sections=sections, chunk_count=len(chunks))
    return ParsedPolicy(policy=policy, gen=gen, chunks=chunks, units=units)


def policy_title(doc: SourceDoc, title: str | None) -> str:
    """The policy's own title, prefixed with the brand as the text spells it when generic."""
    brand = brand_name(doc.text, doc.policy_id)
    if title and (title.lower() not in GENERIC_TITLES or brand.lower() in title.lower()):
        return title
    return f"{brand} {title or 'Privacy Policy'}"


def brand_name(text: str, policy_id: str) -> str:
    """The most frequent spelling of the policy id in the text (e.g. 'PODpartner')."""
    counts: dict[str, int] = {}
    for m in re.finditer(re.escape(policy_id), text, flags=re.I):
        word = m.group(0)
        counts[word] = counts.get(word, 0) + (0 if word.islower() else 1)
    best = max(counts, key=counts.get) if counts else ""
    return best if best and not best.islower() else policy_id.capitalize()

"""The offline answerer: a short answer composed from the selected evidence, with [n] markers.

Also the one place that turns evidence into citations and words the abstentions.
"""
from __future__ import annotations

import re

from assistant.evidence import DEFAULTS, Evidence
from assistant.records import Citation
from index.settings import AnswerSettings
from index.text import BULLET_RE, plain


def display_text(quote: str) -> str:
    """A quote as prose: no list bullets or markdown marks, whitespace collapsed, final stop."""
    text = plain(BULLET_RE.sub("", quote.strip()))
    # A policy's own "[n]" must not read as one of our citation markers.
    text = re.sub(r"\[(\d{1,3})\]", r"(\1)", text)
    text = text.rstrip(" ;,")
    if text and text[-1] not in ".!?:)”\"":
        text += "."
    return text[:1].upper() + text[1:]


def citations_for(evidence: list[Evidence], source_texts: dict[str, str], section_at=None,
                  settings: AnswerSettings = DEFAULTS) -> list[Citation]:
    """One citation per evidence run; adjacent sentences of one chunk merge into one quote of
    at most ``max_quote_units`` sentences and ``max_quote_chars`` (a longer run is quoted in
    parts, each a card a reader takes in at once).

    ``section_at(policy, version, offset)`` names the section a quote sits in (a chunk that
    merged tiny sibling sections carries only the first one's label)."""
    cites: list[Citation] = []
    last: Evidence | None = None
    merged = 0
    for ev in evidence:
        text = source_texts[ev.chunk.policy]
        section = (section_at(ev.chunk.policy, ev.chunk.version, ev.unit.start) if section_at else None) \
            or ev.chunk.section
        if (last is not None and cites and last.unit.chunk_id == ev.unit.chunk_id
                and ev.unit.start >= last.unit.end and not text[last.unit.end:ev.unit.start].strip()
                and ev.unit.end - cites[-1].start <= settings.max_quote_chars
                and merged < settings.max_quote_units):
            prev = cites[-1]
            cites[-1] = Citation(prev.policy, prev.section, text[prev.start:ev.unit.end], prev.start,
                                 ev.unit.end, prev.version)
            merged += 1
        else:
            cites.append(Citation(ev.chunk.policy, section, text[ev.unit.start:ev.unit.end],
                                  ev.unit.start, ev.unit.end, ev.chunk.version))
            merged = 1
        last = ev
    return cites


def compose(per_policy: list[tuple[str, list[Citation]]], silent: list[str]) -> str:
    """Answer text: per policy, a lead sentence then supporting points, each with its [n]."""
    parts: list[str] = []
    n = 0
    for title, cites in per_policy:
        sentences = []
        for cite in cites:
            n += 1
            sentences.append(f"{display_text(cite.quote)} [{n}]")
        if len(per_policy) == 1:
            lead = f"According to the {title}: {sentences[0]}"
            rest = "".join(f"\n- {s}" for s in sentences[1:])
            parts.append(lead + rest)
        else:
            parts.append(f"{title}: " + " ".join(sentences))
    if silent and per_policy:
        parts.append(f"The {join_names(silent)} {'does' if len(silent) == 1 else 'do'} not say.")
    return "\n".join(parts)


def join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def abstention_text(titles: list[str]) -> str:
    """The plain 'the policy does not say' answer."""
    if len(titles) == 1:
        return (f"The policy does not say. I found no passage in the {titles[0]} that answers this, "
                "so I won't guess.")
    return ("The policies do not say. I found no passage in the indexed policies that answers this, "
            "so I won't guess. I can only answer questions about what these privacy policies say.")


INJECTION_TEXT = ("I can only answer questions about what the privacy policies say, and I don't follow "
                  "instructions given inside a question. Ask me about how a policy collects, uses, "
                  "shares or keeps your data.")
OFF_TOPIC_TEXT = ("I can only answer questions about what these privacy policies say. Ask me, for example, "
                  "how a policy collects, shares or keeps your data.")

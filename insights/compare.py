"""Side-by-side comparison of policy labels: practices as rows, policies as columns.

Each cell holds the row's key fact (a duration, the named third parties, an e-mail …, else
the row's summary) with the number of its citation, or "not stated". Differences are flagged:
a row one policy leaves unstated while another states it, the policy that names the most
third parties, and a policy with no access or deletion route.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from assistant.records import Citation
from insights.label import ROW_FACT_KINDS, unescape_md
from insights.records import COMPARE_SCHEMA, ROWS, LabelRow, PolicyLabel

KEY_FACT_CHARS = 90
MAX_PARTIES_SHOWN = 4
NOT_STATED = "not stated"


@dataclass
class Cell:
    text: str
    stated: bool
    citation: int | None = None              # number in the comparison's citation list
    flags: list[str] = field(default_factory=list)
    parties: int = 0                         # named third parties (the share row)

    def to_dict(self) -> dict:
        return {"text": self.text, "stated": self.stated, "citation": self.citation, "flags": self.flags}


@dataclass
class Comparison:
    labels: list[PolicyLabel]
    cells: dict[str, list[Cell]]              # row key -> one cell per policy, in label order
    citations: list[Citation]

    def to_dict(self) -> dict:
        return {"schema": COMPARE_SCHEMA,
                "policies": [{"policy": lb.policy, "title": lb.title, "version": lb.version} for lb in self.labels],
                "rows": [{"key": r.key, "title": r.title, "cells": [c.to_dict() for c in self.cells[r.key]]}
                         for r in ROWS],
                "citations": [{"n": n, **c.to_dict()} for n, c in enumerate(self.citations, 1)]}


def key_fact(row: LabelRow) -> tuple[str, int]:
    """(the row's key fact as text, how many named parties it lists)."""
    own = ROW_FACT_KINDS.get(row.key, ())
    facts = [f for f in row.facts if f.kind in own]
    if row.key == "share":
        parties = list(dict.fromkeys(unescape_md(f.text) for f in facts if f.kind == "org"))
        if parties:
            shown = ", ".join(parties[:MAX_PARTIES_SHOWN])
            more = len(parties) - MAX_PARTIES_SHOWN
            return (shown + (f" +{more} more" if more > 0 else ""), len(parties))
    elif facts:
        return ", ".join(dict.fromkeys(unescape_md(f.text) for f in facts[:2])), 0
    text = row.summary
    if len(text) > KEY_FACT_CHARS:
        text = text[:KEY_FACT_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return text, 0


def compare_labels(labels: list[PolicyLabel]) -> Comparison:
    citations: list[Citation] = []
    cells: dict[str, list[Cell]] = {}
    for row in ROWS:
        line = []
        for label in labels:
            r = label.row(row.key)
            if not r.stated:
                line.append(Cell(NOT_STATED, False))
                continue
            text, parties = key_fact(r)
            citations.append(r.citations[0])
            line.append(Cell(text, True, len(citations), parties=parties))
        flag_differences(row.key, line)
        cells[row.key] = line
    return Comparison(labels, cells, citations)


def flag_differences(key: str, line: list[Cell]) -> None:
    """Mark the cells a reader should look at twice."""
    if any(c.stated for c in line):
        for c in line:
            if not c.stated:
                c.flags.append("not_stated")
                if key == "access":
                    c.flags.append("no_deletion_route")
    if key == "share":
        most = max((c.parties for c in line), default=0)
        if most and any(c.parties != most for c in line):
            for c in line:
                if c.parties == most:
                    c.flags.append("most_third_parties")

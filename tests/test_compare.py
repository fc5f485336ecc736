"""The comparison's key facts and flags (a pure function of labels)."""
from __future__ import annotations

from assistant.records import Citation
from insights.compare import compare_labels
from insights.records import ROWS, Fact, LabelRow, PolicyLabel


def label(pid: str, parties: list[str], access: bool, retention: str | None) -> PolicyLabel:
    rows = []
    for r in ROWS:
        cite = [Citation(pid, "S", f"{r.key} quote", 0, 9, None)]
        facts = {"share": [Fact("org", p, 1) for p in parties],
                 "retention": [Fact("duration", retention, 1)] if retention else []}.get(r.key, [])
        stated = {"access": access, "retention": retention is not None}.get(r.key, True)
        rows.append(LabelRow(r.key, r.title, stated, 0.9 if stated else 0.1, 0.5,
                             f"{r.key} summary" if stated else "", cite if stated else [], facts))
    return PolicyLabel(pid, pid.title(), None, True, rows)


def test_differences_are_flagged_and_key_facts_shown():
    cmp = compare_labels([label("a", ["Stripe", "Google Analytics", "Criteo"], True, "2 years"),
                          label("b", ["Stripe"], False, None)])
    share, access, retention = (cmp.cells[k] for k in ("share", "access", "retention"))
    assert share[0].text == "Stripe, Google Analytics, Criteo" and share[0].flags == ["most_third_parties"]
    assert share[1].text == "Stripe" and share[1].flags == []
    assert access[1].flags == ["not_stated", "no_deletion_route"] and access[1].citation is None
    assert retention[0].text == "2 years" and retention[1].flags == ["not_stated"]
    numbers = [c.citation for row in cmp.cells.values() for c in row if c.stated]
    assert numbers == list(range(1, len(cmp.citations) + 1))


def test_equal_policies_get_no_flags():
    cmp = compare_labels([label("a", ["Stripe"], True, "1 year"), label("b", ["Adyen"], True, "30 days")])
    assert not any(c.flags for row in cmp.cells.values() for c in row)

"""Plain-text and Markdown renderings of labels, comparisons and diffs (pure functions)."""
from __future__ import annotations

from assistant.records import Citation
from index.text import plain
from insights.compare import Comparison
from insights.diff import PolicyDiff, SectionChange
from insights.label import unescape_md
from insights.records import PolicyLabel

QUOTE_CHARS = 240
FLAG_TEXT = {"not_stated": "not stated here", "no_deletion_route": "no deletion route",
             "most_third_parties": "names the most third parties"}


def one_line(text: str, limit: int = QUOTE_CHARS) -> str:
    line = plain(text)
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + " …"


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def version_name(version: str | None) -> str:
    return version or "undated"


# --- label ---------------------------------------------------------------------------------
def label_text(label: PolicyLabel) -> str:
    head = f"{label.title} · version {version_name(label.version)}{' (current)' if label.current else ''}"
    lines = [head, "=" * len(head)]
    n = 0
    for i, row in enumerate(label.rows, 1):
        if not row.stated:
            lines.append(f"\n{i:>2}. {row.title}: Not stated (score {row.score:.2f} < {row.threshold:.2f})")
            continue
        refs = "".join(f"[{n + k}]" for k in range(1, len(row.citations) + 1))
        lines.append(f"\n{i:>2}. {row.title}\n    {row.summary} {refs}")
        if row.facts:
            lines.append("    facts: " + " · ".join(f"{f.kind} {unescape_md(f.text)}" for f in row.facts))
        for c in row.citations:
            n += 1
            lines.append(f"    [{n}] {c.section} [{c.start}:{c.end}]: “{one_line(c.quote)}”")
    return "\n".join(lines)


def label_markdown(label: PolicyLabel) -> str:
    lines = [f"### Privacy label: {md_cell(label.title)} (version {version_name(label.version)}"
             f"{', current' if label.current else ''})", "",
             "| # | Practice | What the policy says | Facts | Sources |", "|---|---|---|---|---|"]
    sources: list[Citation] = []
    for i, row in enumerate(label.rows, 1):
        if not row.stated:
            lines.append(f"| {i} | {md_cell(row.title)} | *Not stated* (score {row.score:.2f} < "
                         f"{row.threshold:.2f}) | | |")
            continue
        refs = []
        for c in row.citations:
            sources.append(c)
            refs.append(f"[{len(sources)}]")
        facts = "; ".join(f"{f.kind}: {unescape_md(f.text)}" for f in row.facts)
        lines.append(f"| {i} | {md_cell(row.title)} | {md_cell(row.summary)} | {md_cell(facts)} | {' '.join(refs)} |")
    lines += ["", "**Sources** (verbatim; offsets into the policy's source text)", ""]
    lines += [f"{n}. *{md_cell(c.section)}* [{c.start}:{c.end}]: “{md_cell(one_line(c.quote))}”"
              for n, c in enumerate(sources, 1)]
    return "\n".join(lines)


# --- comparison ----------------------------------------------------------------------------
def cell_text(cell, markdown: bool) -> str:
    text = md_cell(cell.text) if markdown else cell.text
    if not cell.stated:
        text = f"*{text}*" if markdown else text
    elif cell.citation:
        text += f" [{cell.citation}]"
    if cell.flags:
        note = "; ".join(FLAG_TEXT.get(f, f) for f in cell.flags if f != "not_stated" or not cell.stated)
        text += (f" **⚠ {note}**" if markdown else f"  (! {note})") if note else ""
    return text


def comparison_markdown(cmp: Comparison) -> str:
    heads = [f"{md_cell(lb.title)} ({version_name(lb.version)})" for lb in cmp.labels]
    lines = ["| Practice | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for key, cells in cmp.cells.items():
        title = cmp.labels[0].row(key).title
        lines.append(f"| {md_cell(title)} | " + " | ".join(cell_text(c, True) for c in cells) + " |")
    lines += ["", "**Sources**", ""]
    lines += [f"{n}. {c.policy} · *{md_cell(c.section)}* [{c.start}:{c.end}]: “{md_cell(one_line(c.quote, 160))}”"
              for n, c in enumerate(cmp.citations, 1)]
    return "\n".join(lines)


def comparison_text(cmp: Comparison) -> str:
    out = []
    for key, cells in cmp.cells.items():
        out.append(cmp.labels[0].row(key).title)
        for label, cell in zip(cmp.labels, cells):
            out.append(f"  {label.policy:<16} {cell_text(cell, False)}")
    out.append("\nSources")
    out += [f"  [{n}] {c.policy} · {c.section} [{c.start}:{c.end}]: “{one_line(c.quote, 160)}”"
            for n, c in enumerate(cmp.citations, 1)]
    return "\n".join(out)


# --- diff ----------------------------------------------------------------------------------
def change_heading(change: SectionChange) -> str:
    if change.status == "added":
        return f"Added: {change.new.path}"
    if change.status == "removed":
        return f"Removed: {change.old.path}"
    moved = " (moved)" if change.moved else ""
    if change.old.path != change.new.path:
        return f"{change.status.capitalize()}{moved}: {change.old.path} → {change.new.path}"
    return f"{change.status.capitalize()}{moved}: {change.new.path}"


def diff_summary(diff: PolicyDiff) -> str:
    c = diff.counts()
    return (f"{diff.title}: version {version_name(diff.old_version)} → {version_name(diff.new_version)}. "
            f"Sections: {c['added']} added, {c['removed']} removed, {c['moved']} moved, {c['changed']} changed "
            f"({c['sentences_added']} sentences added, {c['sentences_removed']} removed).")


def diff_lines(diff: PolicyDiff, markdown: bool, max_sentences: int | None = None) -> list[str]:
    lines = [diff_summary(diff)]
    for change in diff.sections:
        if change.status == "unchanged" and not change.moved:
            continue
        lines.append(("\n#### " if markdown else "\n") + change_heading(change))
        for sign, items in (("+", change.added), ("−", change.removed)):
            shown = items if max_sentences is None else items[:max_sentences]
            for s in shown:
                where = f" (also in {s.elsewhere})" if s.elsewhere else ""
                text = one_line(s.sentence.text)
                lines.append(f"- **{sign}** [{s.sentence.start}:{s.sentence.end}] {md_cell(text) if markdown else text}{where}"
                             if markdown else f"  {sign} [{s.sentence.start}:{s.sentence.end}] {text}{where}")
            if len(shown) < len(items):
                lines.append(f"{'- ' if markdown else '  '}… {len(items) - len(shown)} more {sign} sentences")
    return lines


def diff_text(diff: PolicyDiff) -> str:
    return "\n".join(diff_lines(diff, markdown=False))


def diff_markdown(diff: PolicyDiff, max_sentences: int | None = None) -> str:
    return "\n".join(diff_lines(diff, markdown=True, max_sentences=max_sentences))

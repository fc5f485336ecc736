"""The Summary, Compare and Changes pages of the browser UI (Gradio pages beside the chat).

Every policy text is escaped with ``ui.chat_html.esc``; Gradio's sanitiser drops ``data-*``
attributes, so rows and states are marked with classes (``pc-row-share``, ``pc-change-removed``); label and comparison citations are the
chat's citation cards, so each one opens "show in context" the same way. The views are
``gr.Markdown`` holding HTML (sanitised by Gradio), as the chat's messages are: Gradio's
``gr.HTML`` evaluates templates with ``new Function``, which the page's CSP forbids.
"""
from __future__ import annotations

import logging

import gradio as gr

from index.errors import NoLabelError, StoreUnavailable, UnknownPolicy, VersionError
from index.text import plain
from insights.compare import Comparison
from insights.diff import PolicyDiff
from insights.records import PolicyLabel
from insights.render import FLAG_TEXT, change_heading, diff_summary, version_name
from insights.service import Insights
from ui.chat_html import SourceCache, citation_card, esc, esc_inline

log = logging.getLogger("policychat.insights")
DIFF_CONTEXT = 280   # characters shown on each side of a changed sentence


def policy_options(services, multi_version: bool = False) -> list[tuple[str, str]]:
    try:
        policies = services.ctx.store.policies()
    except Exception as exc:  # the page still loads; pressing a button reports the outage
        log.warning("policies unavailable: %s", type(exc).__name__)
        services.ctx.reset_store()
        return []
    return [(p.title, pid) for pid, p in policies.items() if not multi_version or len(p.versions) > 1]


# --- HTML ---------------------------------------------------------------------------------
def label_html(label: PolicyLabel, policies: dict, sources: SourceCache) -> str:
    current = " (current)" if label.current else ""
    rows, n = [], 0
    for row in label.rows:
        if not row.stated:
            rows.append(f'<li class="pc-row pc-row-{row.key} pc-not-stated"><div class="pc-row-title">'
                        f'{esc(row.title)}</div><div class="pc-row-summary">Not stated'
                        f'<span class="pc-score">score {row.score:.2f} &lt; {row.threshold:.2f}</span></div></li>')
            continue
        cards = []
        for c in row.citations:
            n += 1
            cards.append(citation_card(n, c.to_dict(), policies, sources))
        refs = " ".join(f'<span class="pc-ref">[{k}]</span>' for k in range(n - len(cards) + 1, n + 1))
        facts = "".join(f'<span class="pc-fact pc-fact-{esc(f.kind)}"><b>{esc(f.kind)}</b>{esc_inline(f.text)}</span>'
                        for f in row.facts)
        rows.append(f'<li class="pc-row pc-row-{row.key} pc-stated"><div class="pc-row-title">{esc(row.title)}</div>'
                    f'<div class="pc-row-summary">{esc_inline(row.summary)} {refs}</div>'
                    + (f'<div class="pc-facts">{facts}</div>' if facts else "")
                    + f'<ol class="pc-cites">{"".join(cards)}</ol></li>')
    return (f'<div class="pc-label"><h2>{esc(label.title)} · version '
            f'{esc(version_name(label.version))}{current}</h2><ol class="pc-rows">{"".join(rows)}</ol></div>')


def comparison_html(cmp: Comparison, policies: dict, sources: SourceCache) -> str:
    heads = [f"{lb.title} ({version_name(lb.version)})" for lb in cmp.labels]
    body = []
    for key, cells in cmp.cells.items():
        tds = []
        for head, cell in zip(heads, cells):
            classes = ["pc-cell"] + (["pc-cell-missing"] if not cell.stated else []) + (["pc-flagged"] if cell.flags else [])
            ref = f'<span class="pc-ref">[{cell.citation}]</span>' if cell.citation else ""
            flags = "".join(f'<span class="pc-flag pc-flag-{f}">{esc(FLAG_TEXT.get(f, f))}</span>'
                            for f in cell.flags if f != "not_stated")
            tds.append(f'<td class="{" ".join(classes)}"><span class="pc-cell-policy">{esc(head)}</span>'
                       f'{esc_inline(cell.text)} {ref}'
                       f'{"<br>" + flags if flags else ""}</td>')
        body.append(f'<tr class="pc-tr-{key}"><th scope="row">{esc(cmp.labels[0].row(key).title)}</th>{"".join(tds)}</tr>')
    cards = "".join(citation_card(n, c.to_dict(), policies, sources) for n, c in enumerate(cmp.citations, 1))
    return (f'<div class="pc-compare"><h2>Compare: {esc(", ".join(lb.title for lb in cmp.labels))}</h2>'
            f'<div class="pc-table-wrap"><table class="pc-table"><thead><tr><th>Practice</th>'
            + "".join(f"<th>{esc(h)}</th>" for h in heads) + f'</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            f'<div class="pc-sources"><div class="pc-cites-label">Sources</div><ol class="pc-cites">{cards}</ol></div></div>')


def sentence_html(change, bounds: tuple[int, int], text: str, sign: str, cls: str) -> str:
    """One changed sentence; opening it shows it in its section's text around it."""
    s = change.sentence
    lo, hi = max(bounds[0], s.start - DIFF_CONTEXT), min(bounds[1], len(text), s.end + DIFF_CONTEXT)
    where = f' <span class="pc-where">(also in {esc(change.elsewhere)})</span>' if change.elsewhere else ""
    return (f'<li class="{cls}"><details><summary><span class="pc-sign">{sign}</span>{esc_inline(plain(s.text))}{where}</summary>'
            f'<div class="pc-context"><div class="pc-context-title">{esc(change.section)} · version '
            f'{esc(version_name(change.version))} [{s.start}:{s.end}]</div><div class="pc-context-text">'
            f'{esc(("… " if lo > bounds[0] else "") + text[lo:s.start].lstrip())}<mark>{esc(s.text)}</mark>'
            f'{esc(text[s.end:hi].rstrip() + (" …" if hi < bounds[1] else ""))}</div></div></details></li>')


def diff_html(diff: PolicyDiff, text: str) -> str:
    parts = []
    for change in diff.sections:
        if change.status == "unchanged" and not change.moved:
            continue
        new = (change.new.section.start, change.new.section.end) if change.new else (0, len(text))
        old = (change.old.section.start, change.old.section.end) if change.old else (0, len(text))
        items = ([sentence_html(s, new, text, "+", "pc-add") for s in change.added]
                 + [sentence_html(s, old, text, "−", "pc-del") for s in change.removed])
        counts = f'<span class="pc-counts">+{len(change.added)} / −{len(change.removed)} sentences</span>'
        parts.append(f'<details class="pc-change pc-change-{change.status}">'
                     f'<summary>{esc(change_heading(change))}{counts}</summary>'
                     f'<ul class="pc-sentences">{"".join(items)}</ul></details>')
    return (f'<div class="pc-diff"><h2>Changes: {esc(diff.title)}</h2>'
            f'<p class="pc-diff-summary">{esc(diff_summary(diff))}</p>{"".join(parts)}</div>')


def message_html(text: str) -> str:
    return f'<div class="pc-empty">{esc(text)}</div>'


# --- pages --------------------------------------------------------------------------------
def add_pages(demo: gr.Blocks, services) -> None:
    """Adds the Summary, Compare and Changes pages to the chat's Blocks (call outside its context)."""
    ctx = services.ctx
    insights = Insights(lambda: ctx.store)
    sources = SourceCache(services)

    def guarded(fn):
        def run(*args):
            try:
                return fn(*args)
            except (UnknownPolicy, NoLabelError, VersionError, ValueError) as exc:
                return message_html(str(exc).strip("'\""))
            except StoreUnavailable as exc:
                log.warning("store unavailable in the insights pages: %s", type(exc).__name__)
                ctx.reset_store()
                return message_html("The policy index is unavailable right now. Please try again in a moment.")
            except Exception:
                log.exception("insights page failed")
                return message_html("Sorry, something went wrong. Please try again.")
        return run

    @guarded
    def show_label(policy_id, version):
        if not policy_id:
            return message_html("Choose a policy.")
        label = insights.label(policy_id, version or None)
        return label_html(label, sources.policies(), sources)

    def versions_of(policy_id):
        try:
            policy = ctx.store.policies().get(policy_id)
        except Exception:
            policy = None
        if policy is None:
            return gr.update(choices=[], value=None)
        choices = [(f"{version_name(v.label)}{' (current)' if v.current else ''}", v.label or "") for v in policy.versions]
        current = policy.current_version
        return gr.update(choices=choices, value=(current.label or "") if current else None)

    @guarded
    def show_compare(ids):
        ids = list(ids or [])
        if len(ids) < 2:
            return message_html("Choose two or more policies.")
        return comparison_html(insights.compare(ids), sources.policies(), sources)

    @guarded
    def show_diff(policy_id):
        if not policy_id:
            return message_html("Choose a policy with more than one version.")
        diff = insights.diff(policy_id)
        return diff_html(diff, ctx.store.source_text(policy_id) or "")

    def navbar():  # each page's navigation bar names the main page "Chat" (Gradio says "Home")
        gr.Navbar(main_page_name="Chat")

    with demo:
        navbar()

    def refresh(current, multi=False):
        choices = policy_options(services, multi)
        values = {v for _, v in choices}
        if isinstance(current, list):
            return gr.update(choices=choices, value=[c for c in current if c in values])
        return gr.update(choices=choices, value=current if current in values else None)

    with demo.route("Summary", "/summary"):
        navbar()
        with gr.Row(elem_id="pc-summary-bar", equal_height=True):
            s_policy = gr.Dropdown(policy_options(services), label="Policy", elem_id="pc-summary-policy",
                                   filterable=False, scale=2, min_width=180)
            s_version = gr.Dropdown([], label="Version", elem_id="pc-summary-version", filterable=False,
                                    scale=1, min_width=120)
            s_button = gr.Button("Show summary", variant="primary", elem_id="pc-summary-go", scale=0, min_width=140)
        s_out = gr.Markdown(message_html("Choose a policy and press “Show summary”."), elem_id="pc-summary-out")
        s_policy.change(versions_of, s_policy, s_version, api_visibility="private")
        s_policy.focus(refresh, s_policy, s_policy, api_visibility="private")
        s_button.click(show_label, [s_policy, s_version], s_out, api_visibility="private")

    with demo.route("Compare", "/compare"):
        navbar()
        with gr.Row(elem_id="pc-compare-bar", equal_height=True):
            c_policies = gr.Dropdown(policy_options(services), multiselect=True, label="Policies",
                                     elem_id="pc-compare-policies", filterable=False, scale=3, min_width=200)
            c_button = gr.Button("Compare", variant="primary", elem_id="pc-compare-go", scale=0, min_width=120)
        c_out = gr.Markdown(message_html("Choose two or more policies and press “Compare”."), elem_id="pc-compare-out")
        c_policies.focus(refresh, c_policies, c_policies, api_visibility="private")
        c_button.click(show_compare, c_policies, c_out, api_visibility="private")

    with demo.route("Changes", "/changes"):
        navbar()
        with gr.Row(elem_id="pc-changes-bar", equal_height=True):
            d_policy = gr.Dropdown(policy_options(services, multi_version=True), label="Policy with several versions",
                                   elem_id="pc-changes-policy", filterable=False, scale=3, min_width=200)
            d_button = gr.Button("Show changes", variant="primary", elem_id="pc-changes-go", scale=0, min_width=140)
        d_out = gr.Markdown(message_html("Choose a policy and press “Show changes”."), elem_id="pc-changes-out")
        d_policy.focus(lambda cur: refresh(cur, True), d_policy, d_policy, api_visibility="private")
        d_button.click(show_diff, d_policy, d_out, api_visibility="private")

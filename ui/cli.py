"""policychat: answers questions about privacy policies with cited, verbatim passages.

Every command takes --db DIR (else $POLICYCHAT_DB, else ~/.local/share/policychat) and
--chroma-url URL (else $CHROMA_HOST/$CHROMA_PORT, else the embedded store in --db).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from index import env as _env  # noqa: F401

from assistant.generate import provider_for  # noqa: E402
from assistant.question import normalize_question  # noqa: E402
from assistant.records import Scope  # noqa: E402
from index.config import BUNDLED_CORPUS  # noqa: E402
from index.errors import InvalidQuestion, PolicyChatError, UnknownPolicy, UserError  # noqa: E402
from index.progress import progress_bar  # noqa: E402
from index.sections import render_tree  # noqa: E402
from index.settings import Settings  # noqa: E402
from index.text import plain  # noqa: E402
from insights.cli import add_commands  # noqa: E402

# Imported inside the commands that need them, to keep `policychat ask` and `policies` cold
# starts light: ui.context (the store, numpy), index.pipeline (tiktoken, loaders), ui.server
# (gradio, fastapi) and eval.runner.


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    settings = None
    try:
        # Every setting is read and checked once, before any work (and before a server starts
        # answering 500s), then handed down with the arguments.
        args.settings = settings = settings_from(args)
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("policychat: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if settings is not None and settings.debug:
            raise
        print(f"policychat: error: {describe_error(exc)}", file=sys.stderr)
        return exc.exit_code if isinstance(exc, PolicyChatError) else 1


def settings_from(args) -> Settings:
    """The settings from the environment and this command's flags; an unknown LLM provider
    is refused here too, without importing its library."""
    settings = Settings.from_env(os.environ, db=args.db, chroma_url=args.chroma_url,
                                 host=getattr(args, "host", None), port=getattr(args, "port", None),
                                 workers=getattr(args, "workers", None))
    provider_for(settings)
    return settings


def describe_error(exc: Exception) -> str:
    if isinstance(exc, PolicyChatError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _common_options(default) -> argparse.ArgumentParser:
    """--db and --chroma-url, accepted before and after the command name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="DIR", default=default, help="index directory (default: "
                        "$POLICYCHAT_DB or ~/.local/share/policychat)")
    common.add_argument("--chroma-url", metavar="URL", default=default, help="use a Chroma server, e.g. "
                        "http://127.0.0.1:8000 (default: $CHROMA_HOST/$CHROMA_PORT, else the embedded store)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(default=None)
    # A subcommand's copy must not reset "--db" given before the command name to None.
    after_command = _common_options(default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(prog="policychat", description=__doc__.split("\n\n")[0],
                                     parents=[common])
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("index", parents=[after_command], help="build or update the index",
                       description="Index policy files (txt, md, html, pdf) or folders; the bundled "
                       "corpus by default. Unchanged policies are skipped.")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--prune", action="store_true", help="remove policies whose files are gone")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("policies", parents=[after_command], help="list indexed policies",
                       description="List indexed policies, print one's section tree or source text.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--tree", metavar="ID", help="print the section tree of a policy")
    g.add_argument("--source", metavar="ID", help="print the source text citations index into")
    p.set_defaults(func=cmd_policies)

    p = sub.add_parser("search", parents=[after_command], help="search policy sections",
                       description="Hybrid (dense + BM25) search over policy chunks.")
    p.add_argument("query")
    p.add_argument("--policy", metavar="ID", help="only this policy")
    p.add_argument("--version", metavar="LABEL", help="a version label (default: current)")
    p.add_argument("-k", type=int, default=5, help="number of results (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[after_command], help="ask a question",
                       description="Answer a question from the policies with cited quotes.")
    p.add_argument("question", nargs="?")
    p.add_argument("--policy", metavar="ID", help="only this policy")
    p.add_argument("--batch", metavar="FILE", help='JSONL file of {"id","question","policy"?}; '
                   "one JSON line out per line in")
    p.add_argument("--json", action="store_true", help="machine-readable output (the answer contract)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", parents=[after_command], help="serve the chat UI, API and widget",
                       description="Serve the Gradio chat at /, the API at /api and /widget.js. "
                       "Builds the index on first start if it is empty.")
    p.add_argument("--host", help="interface to listen on (default: $POLICYCHAT_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: $POLICYCHAT_PORT or 7860)")
    p.add_argument("--workers", type=int, help="uvicorn worker processes (default 1)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", parents=[after_command], help="score the assistant on the gold set",
                       description="Run the gold question set; print tables per policy and kind; "
                       "write eval/results/latest.json.")
    p.add_argument("--gold", metavar="FILE", help="gold JSONL (default: eval/gold.jsonl)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--mode", choices=["extractive", "llm"], default="extractive")
    p.add_argument("--baseline", action="store_true", help="also score the naive LangChain baseline")
    p.add_argument("--out", metavar="FILE", help="results file (default: eval/results/latest.json)")
    p.set_defaults(func=cmd_eval)

    add_commands(sub, after_command, context)  # label, compare, diff
    return parser


def context(args):
    """The composition root for a command, configured by the settings ``main`` built."""
    from ui.context import AppContext

    return AppContext.from_settings(args.settings)


# --- index ----------------------------------------------------------------------------------
def cmd_index(args) -> int:
    from index.pipeline import FAILED

    ctx = context(args)
    paths = [Path(p) for p in args.paths] or [BUNDLED_CORPUS]
    files_hint = sum(len(list(p.iterdir())) if p.is_dir() else 1 for p in paths if p.exists())
    with progress_bar(files_hint, "file", "indexing", enabled=not args.quiet) as step:
        report = ctx.index(paths, prune=args.prune,
                           progress=(lambda result: step(result.policy_id or "")) if step else None)
    for r in report.results:
        if r.status == FAILED:
            print(f"skipped: {r.message}", file=sys.stderr)
        elif r.status == "pruned":
            print(r.message, file=sys.stderr)
    print(f"indexed {report.count('indexed')}, unchanged {report.count('unchanged')}, "
          f"failed {report.count(FAILED)}, pruned {report.count('pruned')}; "
          f"embedded {report.embedded_texts} new passages, reused {report.embed_texts - report.embedded_texts}; "
          f"{report.embedded_chunks} chunks stored in {report.seconds:.1f}s → {ctx.chroma_url or ctx.db_dir}")
    return 1 if report.nothing_indexed else 0


# --- policies -------------------------------------------------------------------------------
def cmd_policies(args) -> int:
    ctx = context(args)
    policies = ctx.reader.policies()
    wanted = args.tree or args.source
    if wanted and wanted not in policies:
        raise UserError(f"unknown policy '{wanted}' (known: {', '.join(policies) or 'none indexed'})")
    if args.source:
        sys.stdout.write(ctx.reader.source_text(args.source) or "")
        return 0
    if args.tree:
        policy = policies[args.tree]
        if args.json:
            print(json.dumps([{"path": list(s.path), "version": s.version, "start": s.start, "end": s.end}
                              for s in policy.sections], ensure_ascii=False, indent=1))
            return 0
        print(policy.title)
        for v in policy.versions:
            sections = [s for s in policy.sections if s.version == v.label]
            flag = " (current)" if v.current else ""
            print(f"\n[version {v.label or 'undated'}{flag}]")
            print("\n".join("  " + line for line in render_tree(sections).splitlines()))
        return 0
    rows = [policy_summary(p) for p in policies.values()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    elif not rows:
        print("no policies indexed; run `policychat index`")
    else:
        for r in rows:
            versions = ", ".join(f"{v['label'] or 'undated'}{'*' if v['current'] else ''}" for v in r["versions"])
            print(f"{r['id']:<16} {r['title']:<34} versions: {versions:<24} "
                  f"{r['sections']:>3} sections {r['chunks']:>4} chunks")
    return 0


def policy_summary(policy) -> dict:
    return {"id": policy.id, "title": policy.title, "kind": policy.kind,
            "versions": [{"label": v.label, "effective_date": v.effective_date, "current": v.current}
                         for v in policy.versions],
            "sections": len(policy.sections), "chunks": policy.chunk_count}


# --- search ---------------------------------------------------------------------------------
def cmd_search(args) -> int:
    query = check_question(args.query)
    if not 1 <= args.k <= 100:
        raise UserError("-k must be between 1 and 100")
    ctx = context(args)
    check_policy_id(ctx, args.policy)
    retriever = ctx.retriever
    hits = retriever.search(query, Scope((args.policy,) if args.policy else None, args.version), k=args.k)
    rows = [{"policy": h.chunk.policy, "section": h.chunk.section, "version": h.chunk.version,
             "text": h.chunk.text, "start": h.chunk.start, "end": h.chunk.end, "score": round(h.score, 6)}
            for h in hits]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("no results")
    for i, r in enumerate(rows, 1):
        print(f"[{i}] {r['policy']} · {r['section']} · {r['version'] or 'undated'} "
              f"[{r['start']}:{r['end']}]")
        print("    " + clean_snippet(r["text"]))
    return 0


def clean_snippet(text: str, limit: int = 300) -> str:
    """A passage as plain reading text: markdown marks and list bullets gone, cut at a word."""
    # Not index.text.BULLET_RE: that one also takes item numbers ("1.", "2)") and "o" as list
    # marks, and a reader of a search hit needs the numbers; markdown's "+" bullet goes here.
    lines = (plain(re.sub(r"^\s*[-*+•]\s+", "", line)) for line in text.splitlines())
    flat = " ".join(line for line in lines if line)
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"


def check_policy_id(ctx, policy_id: str | None) -> None:
    """Refuse an unknown policy before the model is loaded."""
    if policy_id is None:
        return
    known = ctx.reader.policies()
    if policy_id not in known:
        raise UserError(f"unknown policy '{policy_id}' (known: {', '.join(known) or 'none indexed'})")


def check_question(text: str | None) -> str:
    """Reject empty, wordless and oversized questions with a clear message."""
    try:
        return normalize_question("" if text is None else text)
    except InvalidQuestion as exc:
        raise UserError(str(exc)) from None


# --- ask ------------------------------------------------------------------------------------
def cmd_ask(args) -> int:
    if args.batch:
        return ask_batch(args)
    question = check_question(args.question)
    ctx = context(args)
    check_policy_id(ctx, args.policy)
    answer = ctx.assistant.ask(question, policy=args.policy)
    if args.json:
        print(json.dumps(answer.to_contract(), ensure_ascii=False))
    else:
        print(render_answer(answer))
    return 0


def render_answer(answer) -> str:
    lines = [answer.text]
    for i, c in enumerate(answer.citations, 1):
        quote = " ".join(c.quote.split())
        lines.append(f"\n[{i}] {c.policy} · {c.section}" + (f" · {c.version}" if c.version else ""))
        lines.append(f"    “{quote}”")
    return "\n".join(lines)


def ask_batch(args) -> int:
    path = Path(args.batch)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    ctx = context(args)
    assistant = ctx.assistant
    failures = 0
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            item_id = None
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise UserError("each line must be a JSON object")
                item_id = item.get("id", n)
                policy = item.get("policy")
                if policy is not None and not isinstance(policy, str):
                    raise UserError("'policy' must be a string or null")
                question = check_question(item.get("question") if isinstance(item.get("question"), str) else None)
                if policy:
                    ctx.retriever.check_policy(policy)
                out = assistant.ask(question, policy=policy).to_contract()
            except (json.JSONDecodeError, UserError, UnknownPolicy) as exc:
                failures += 1
                msg = f"line {n}: {exc.msg if isinstance(exc, json.JSONDecodeError) else exc}"
                out = {"answer": "", "abstained": True, "citations": [], "error": msg}
            print(json.dumps({"id": item_id if item_id is not None else n, **out}, ensure_ascii=False),
                  flush=True)
    return 0


# --- serve / eval ---------------------------------------------------------------------------
def cmd_serve(args) -> int:
    from ui.server import serve

    return serve(context(args))


def cmd_eval(args) -> int:
    from eval.runner import run_cli

    return run_cli(context(args), args)


if __name__ == "__main__":
    sys.exit(main())

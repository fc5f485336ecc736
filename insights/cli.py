"""`policychat label`, `compare` and `diff`: the subcommands, added to ui/cli.py's parser."""
from __future__ import annotations

import argparse
import json
import sys

from index.errors import NoLabelError, UnknownPolicy, UserError, VersionError

# ui/cli.py adds these commands to the parser of every `policychat` run: the insights modules
# (insights.service loads the labeler and the diff) are imported only when one of them runs.
FORMATS = ("text", "md", "json")


class _Hooks:
    """ui/cli.py's context builder, handed over by ``add_commands`` (insights sits below ui)."""

    context = None


def add_commands(sub, after_command: argparse.ArgumentParser, context) -> None:
    _Hooks.context = staticmethod(context)

    p = _command(sub, after_command, "label", cmd_label, "a policy's privacy label, every row cited",
                 "The privacy label of one policy version: twelve practice rows, each with a one-line "
                 "summary, 1-3 verbatim citations and typed facts, or 'Not stated'.")
    p.add_argument("policy", metavar="ID")
    p.add_argument("--version", metavar="LABEL", help="a version label (default: current)")

    p = _command(sub, after_command, "compare", cmd_compare, "compare policies' labels side by side",
                 "A table with the practices as rows and the policies as columns; differences are flagged.")
    p.add_argument("policies", nargs="+", metavar="ID")

    p = _command(sub, after_command, "diff", cmd_diff, "what changed between two versions of a policy",
                 "Sections added, removed, moved and changed between two versions, with the sentences "
                 "added and removed (offsets into the source text).")
    p.add_argument("policy", metavar="ID")
    p.add_argument("--from", dest="old", metavar="LABEL", help="the older version (default: the one before --to)")
    p.add_argument("--to", dest="new", metavar="LABEL", help="the newer version (default: current)")


def _command(sub, after_command, name: str, func, help_text: str, description: str) -> argparse.ArgumentParser:
    """A subcommand with the common options and --json/--format."""
    p = sub.add_parser(name, parents=[after_command], help=help_text, description=description)
    p.add_argument("--json", action="store_true", help="machine-readable output (docs/labels.md)")
    p.add_argument("--format", choices=FORMATS, default=None, help="text (default), md (for a ticket) or json")
    p.set_defaults(func=func)
    return p


def output_format(args) -> str:
    if args.json and args.format not in (None, "json"):
        raise UserError("--json and --format md/text contradict each other")
    return "json" if args.json else (args.format or "text")


def insights_for(args):
    from insights.service import Insights

    ctx = _Hooks.context(args)
    return Insights(lambda: ctx.store)


def user_errors(fn):
    """Unknown policies and versions, and bad id lists, become one-line user errors."""
    def run(args) -> int:
        try:
            return fn(args)
        except (UnknownPolicy, NoLabelError, VersionError, ValueError) as exc:
            raise UserError(str(exc).strip("'\"")) from None
    return run


def emit(fmt: str, data: dict, text: str, markdown: str) -> int:
    out = json.dumps(data, ensure_ascii=False, indent=1) if fmt == "json" else markdown if fmt == "md" else text
    sys.stdout.write(out + "\n")
    return 0


@user_errors
def cmd_label(args) -> int:
    from insights.render import label_markdown, label_text

    fmt = output_format(args)
    label = insights_for(args).label(args.policy, args.version)
    return emit(fmt, label.to_dict(), label_text(label), label_markdown(label))


@user_errors
def cmd_compare(args) -> int:
    from insights.render import comparison_markdown, comparison_text

    fmt = output_format(args)
    cmp = insights_for(args).compare(args.policies)
    return emit(fmt, cmp.to_dict(), comparison_text(cmp), comparison_markdown(cmp))


@user_errors
def cmd_diff(args) -> int:
    from insights.render import diff_markdown, diff_text

    fmt = output_format(args)
    diff = insights_for(args).diff(args.policy, args.old, args.new)
    return emit(fmt, diff.to_dict(), diff_text(diff), diff_markdown(diff))

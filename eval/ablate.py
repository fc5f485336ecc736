"""python -m eval.ablate: does each remaining hand-written step pay, on validation data?

Each context step of index.settings.AnswerSettings is switched off in turn (and all at
once); gold dev, the dev rewordings of eval/paraphrases.jsonl and the held-out PolicyQA-dev
policies are answered again. A step stays only where switching it off costs something. Prints a markdown table; nothing is gated here.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields

import index  # noqa: F401  (offline switches)
from assistant.pipeline import Assistant
from assistant.retrieve import Retriever
from eval import metrics as M
from eval import suite
from eval.runner import _source_texts, gold_policies, load_gold, run_ours
from eval.splits import select
from index.settings import AnswerSettings, Settings
from ui.context import AppContext

SWITCHES = [f.name for f in fields(AnswerSettings) if f.type in (bool, "bool")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.ablate", description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="an index of the bundled corpus (default: $POLICYCHAT_DB)")
    args = parser.parse_args(argv)
    base = Settings.from_env(db=args.db)
    ctx = AppContext.from_settings(base)
    gold = load_gold()
    items = select(gold, "dev")
    # the ranker was fit on gold dev, so a step's worth on new questions shows on the rewordings
    reworded = select(suite.paraphrase_items(gold), "dev")  # the test rewordings judge, never choose
    texts = _source_texts(ctx, gold_policies(items + reworded))
    variants = [("all steps", base)] + [(f"without {s}", base.with_answer(**{s: False})) for s in SWITCHES]
    variants.append(("no steps", base.with_answer(**{s: False for s in SWITCHES})))
    print("| variant | gold dev recall | gold dev precision | gold dev abstention accuracy | gold dev answer points "
          "| paraphrases recall | paraphrases precision | paraphrases citing the original's evidence "
          "| PolicyQA practice hit | PolicyQA chars | PolicyQA abstain |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, settings in variants:
        ctx.__dict__["assistant"] = Assistant(ctx.retriever, ctx.embedder, settings=settings)
        rows, _ = run_ours(ctx, items, texts)
        totals = M.summarize(rows)
        para_rows, _ = run_ours(ctx, reworded, texts)
        para = suite.cited_totals(para_rows)

        def ask_factory(store, settings=settings):
            assistant = Assistant(Retriever(store, ctx.embedder, settings=settings.answer), ctx.embedder,
                                  settings=settings)
            return lambda question, policy: assistant.ask(question, policy=policy).to_contract()

        pqa = suite.policyqa_validation(ctx.embedder, ask_factory, baseline=False).get("ours", {})
        print(f"| {name} | {totals['citation_recall']:.3f} | {totals['citation_precision']:.3f} | "
              f"{totals['abstention_accuracy']:.3f} | {totals['answer_points']:.3f} | "
              f"{para['citation_recall']:.3f} | {para['citation_precision']:.3f} | {para['cites_original']:.3f} | "
              f"{pqa.get('practice_hit', float('nan')):.3f} | {pqa.get('chars', '–')} | {pqa.get('abstain', '–')} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

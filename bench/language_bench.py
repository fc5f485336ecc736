"""Language detection for assistant/language.py: accuracy per split, false refusals, timing.

Run: `python bench/language_bench.py`. Reads bench/data/language_questions.jsonl (labelled, split
dev/test), the gold and paraphrase questions (English), and ../shared PolicyQA questions when present.
Prints the tables and a P_EN_MIN sweep on dev; writes bench/results/language_bench.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, table, write_results  # noqa: E402

from assistant import language as L  # noqa: E402

LABELLED = ROOT / "bench" / "data" / "language_questions.jsonl"
POLICYQA = ROOT.parent / "shared" / "external" / "policyqa-dev" / "questions.jsonl"


def _questions(path: Path, field: str = "question") -> list[str]:
    return [json.loads(line)[field] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _accuracy(rows: list[dict], english) -> dict:
    en = [r for r in rows if r["lang"] == "en"]
    other = [r for r in rows if r["lang"] != "en"]
    kept = sum(english(r["text"]) for r in en)
    flagged = sum(not english(r["text"]) for r in other)
    return {"english_kept": f"{kept}/{len(en)}", "others_flagged": f"{flagged}/{len(other)}",
            "accuracy": round((kept + flagged) / len(rows), 3)}


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    t0 = time.perf_counter()
    detector = L.LanguageDetector()
    detector.guess("warm up")
    load_s = time.perf_counter() - t0
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    raw_all = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    raw_some = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    raw_some.set_languages(list(L.CANDIDATE_LANGUAGES))
    methods = {
        "py3langid, all languages (top == en)": lambda q: raw_all.classify(q)[0] == "en",
        "py3langid, candidates (top == en)": lambda q: raw_some.classify(q)[0] == "en",
        "assistant.language.is_english": lambda q: detector.guess(q).is_english,
    }
    result_rows, out = [], []
    for name, fn in methods.items():
        for split in ("dev", "test"):
            acc = _accuracy([r for r in rows if r["split"] == split], fn)
            result_rows.append([name, split, acc["english_kept"], acc["others_flagged"], acc["accuracy"]])
            out.append({"method": name, "split": split, **acc})
    print(f"Labelled questions ({len(rows)}), {LABELLED.relative_to(ROOT)}")
    print(table(["method", "split", "English kept", "others flagged", "accuracy"], result_rows, 3))

    english_sets = {"gold": _questions(ROOT / "eval" / "gold.jsonl"),
                    "paraphrases": _questions(ROOT / "eval" / "paraphrases.jsonl")}
    if POLICYQA.exists():
        english_sets["policyqa-dev"] = _questions(POLICYQA)
    else:
        print(f"(skipping PolicyQA: {POLICYQA} absent)")
    refused = []
    for name, qs in english_sets.items():
        t = time.perf_counter()
        n = sum(not detector.guess(q).is_english for q in qs)
        per_ms = (time.perf_counter() - t) / len(qs) * 1000
        refused.append([name, len(qs), n, per_ms])
    print("\nEnglish questions refused (false refusals)")
    print(table(["set", "questions", "refused", "ms per question"], refused, 3))
    print(f"\nmodel load + first question: {load_s:.2f} s")

    dev = [r for r in rows if r["split"] == "dev"]
    guesses = [(r, detector.guess(r["text"])) for r in dev]
    sweep, s = [], detector.settings
    for t in (0.02, 0.05, 0.08, 0.10, 0.12, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50, 0.60):
        ok = sum((r["lang"] == "en") == (g.words == 0 or g.english >= (t if g.words >= s.english_min_words
                                                                          else s.english_min_p_short))
                 for r, g in guesses)
        sweep.append([t, f"{ok}/{len(dev)}"])
    print("\nP_EN_MIN sweep on dev (english_min_p, current", s.english_min_p, ")")
    print(table(["P_EN_MIN", "correct"], sweep, 2))
    write_results("language_bench", {"labelled": out, "false_refusals": [dict(zip(
        ["set", "questions", "refused", "ms_per_question"], r)) for r in refused], "load_s": load_s,
        "sweep_dev": sweep})


if __name__ == "__main__":
    main()

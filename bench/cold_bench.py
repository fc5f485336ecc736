"""Cold start: one `policychat` command in a fresh process, against `import sentence_transformers`.

Runs, interleaved, --runs times each (median and max wall, peak RSS of the child):

* import st  — ``python -c "import sentence_transformers"``: the yardstick, measured in the same
               run because machines differ (issue 16: ask cold ≤ 0.2× of it);
* ask        — ``policychat ask "who receives my payment data?" --json`` (< 2 s median);
* policies   — ``policychat policies`` (< 0.5 s);
* batch      — ``policychat ask --batch`` with the 127 gold questions in one process: its wall
               minus the cold ask's, per question, is the per-question figure the README states.

The index is the bundled five at --db (built with `policychat index` when it has no read tables).

    .venv/bin/python bench/cold_bench.py                 # 5 runs each
    .venv/bin/python bench/cold_bench.py --runs 9
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (ROOT, load_note, machine, print_load, read_gold, report_targets, table,  # noqa: E402
                           verdict, write_results)

DEFAULT_DB = Path("/tmp/bench-cold")
QUESTION = "who receives my payment data?"
ASK_RATIO, ASK_S, POLICIES_S = 0.2, 2.0, 0.5


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process, which must succeed."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:]}")
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"index of the bundled five (default {DEFAULT_DB})")
    ap.add_argument("--runs", type=int, default=5, help="runs of each command (default 5)")
    args = ap.parse_args(argv)

    cli = [sys.executable, "-m", "ui.cli"]
    if not (args.db / "read").is_dir():
        print(f"indexing the bundled policies into {args.db} (not timed) …", flush=True)
        subprocess.run([*cli, "index", "--db", str(args.db), "-q"], cwd=ROOT, check=True)
    batch = Path(tempfile.mkdtemp()) / "gold.jsonl"
    gold = read_gold()
    batch.write_text("".join(json.dumps({"id": r["id"], "question": r["question"], "policy": r.get("policy")}) + "\n"
                             for r in gold), encoding="utf-8")
    commands = {
        "import st": [sys.executable, "-c", "import sentence_transformers"],
        "ask": [*cli, "ask", QUESTION, "--json", "--db", str(args.db)],
        "policies": [*cli, "policies", "--db", str(args.db)],
        "batch": [*cli, "ask", "--batch", str(batch), "--json", "--db", str(args.db)],
    }
    before = print_load("before cold bench")
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    timed(commands["ask"])  # page cache: every command reads its files warm, as on a used machine
    for _ in range(args.runs):
        for name, cmd in commands.items():
            samples[name].append(timed(cmd))

    rows, stats = [], {}
    for name, got in samples.items():
        walls = [w for w, _ in got]
        stats[name] = {"median_s": statistics.median(walls), "max_s": max(walls), "min_s": min(walls),
                       "peak_rss_mb": max(r for _, r in got), "runs": len(got)}
        rows.append([name, stats[name]["median_s"], stats[name]["min_s"], stats[name]["max_s"],
                     stats[name]["peak_rss_mb"]])
    per_question = (stats["batch"]["median_s"] - stats["ask"]["median_s"]) / (len(gold) - 1)
    stats["batch"]["per_question_ms"] = per_question * 1000
    print()
    print(table(["command", "median s", "min s", "max s", "peak RSS MB"], rows, digits=2))
    print(f"\nask --batch: {len(gold)} questions, {per_question * 1000:.0f} ms per question after the first")

    ratio = stats["ask"]["median_s"] / stats["import st"]["median_s"]
    targets = [
        ["ask cold / import sentence_transformers", f"≤ {ASK_RATIO}", round(ratio, 3), verdict(ratio <= ASK_RATIO)],
        ["ask cold, median", f"< {ASK_S} s", round(stats["ask"]["median_s"], 2), verdict(stats["ask"]["median_s"] < ASK_S)],
        ["policies, median", f"< {POLICIES_S} s", round(stats["policies"]["median_s"], 2),
         verdict(stats["policies"]["median_s"] < POLICIES_S)],
    ]
    write_results("cold_bench", {"machine": machine(), "load": load_note(before), "db": str(args.db),
                                 "questions_in_batch": len(gold), "commands": {k: " ".join(v) for k, v in commands.items()},
                                 "results": stats, "targets": report_targets(
                                     "Targets", ["target", "threshold", "measured", "verdict"], targets)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

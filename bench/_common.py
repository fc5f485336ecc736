"""Shared helpers for the bench/ scripts: machine facts, load, percentiles, tables, results.

Not a test module; imported by ``bench/*.py`` only (they put the repository root on sys.path).
"""
from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
DEFAULT_DB300 = Path("/tmp/bench300")
DEFAULT_CORPUS300 = Path("/tmp/bench300-corpus")
DEFAULT_BASELINE300 = Path("/tmp/bench300-baseline")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from index import env as _env  # noqa: E402,F401  (offline switches before any model library)


# --- machine and load ------------------------------------------------------------------------
def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


def uptime_line() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        one, five, fifteen = loadavg()
        return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def machine() -> dict:
    return {"nproc": os.cpu_count(), "cpu": cpu_model(), "mem_total_mb": mem_total_mb(),
            "python": platform.python_version(), "platform": platform.platform()}


def load_note(before: tuple[float, float, float], after: tuple[float, float, float] | None = None) -> dict:
    """Load averages around a measurement; 'high' when the 1-min load exceeds the core count."""
    cores = os.cpu_count() or 1
    after = after or loadavg()
    return {"load_before": [round(x, 2) for x in before], "load_after": [round(x, 2) for x in after],
            "cores": cores, "high": max(before[0], after[0]) > cores}


def print_load(label: str = "") -> tuple[float, float, float]:
    line = uptime_line()
    print(f"[uptime{(' ' + label) if label else ''}] {line}", flush=True)
    return loadavg()


# --- memory ----------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _proc_status_mb(pid: int, field: str) -> float | None:
    """One memory field of /proc/<pid>/status (VmHWM, VmRSS …) in MB; None if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def vm_hwm_mb(pid: int) -> float | None:
    """Peak RSS (VmHWM) of a live process, in MB."""
    return _proc_status_mb(pid, "VmHWM")


def vm_rss_mb(pid: int) -> float | None:
    """Current RSS (VmRSS) of a live process, in MB."""
    return _proc_status_mb(pid, "VmRSS")


def dir_size_mb(path: Path) -> float:
    total = 0
    for p in Path(path).rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total / 2**20


# --- statistics and tables ---------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), like numpy's default."""
    if not values:
        return float("nan")
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary_ms(samples_s: list[float]) -> dict:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "mean": round(statistics.fmean(ms), 2) if ms else None,
            "p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2),
            "p99": round(percentile(ms, 99), 2), "max": round(max(ms), 2) if ms else None}


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: list[str], rows: list[list], digits: int = 1) -> str:
    """A GitHub-markdown table (so the printed output can be pasted into docs as is)."""
    cells = [[fmt(c, digits) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def report_targets(title: str, headers: list[str], targets: list[list]) -> list[dict]:
    """Print the targets table (when there is one); return its rows as dicts for the JSON
    (keys: the headers with spaces as underscores)."""
    if targets:
        print(f"\n{title}")
        print(table(headers, targets))
    keys = [h.replace(" ", "_") for h in headers]
    return [dict(zip(keys, t)) for t in targets]


def write_results(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"bench": name, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"\nresults → {path.relative_to(ROOT)}", flush=True)
    return path


def merge_previous(name: str, list_key: str, new_rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Rows of this run plus the rows of earlier runs (bench/results/<name>.json) that this run
    did not redo, so e.g. ``--policies 5`` and ``--policies 300`` runs add up to one table."""
    path = RESULTS / f"{name}.json"
    try:
        old = json.loads(path.read_text()).get(list_key, [])
    except (OSError, ValueError):
        old = []
    redone = {tuple(r.get(k) for k in key) for r in new_rows}
    kept = [r for r in old if tuple(r.get(k) for k in key) not in redone]
    for r in kept:
        r.setdefault("from_earlier_run", True)
    for r in new_rows:
        r.pop("from_earlier_run", None)
    return kept + new_rows


# --- corpora -----------------------------------------------------------------------------------
def bundled_corpus() -> Path:
    from index.config import BUNDLED_CORPUS

    return BUNDLED_CORPUS


def corpus_for(policies: int, corpus300: Path, seed: int = 7) -> Path:
    """The folder of .txt policies for a corpus size: the bundled five, or the synthetic corpus
    (generated on demand when missing)."""
    if policies == 5:
        return bundled_corpus()
    if not corpus300.exists() or len(list(corpus300.glob("*.txt"))) != policies:
        from bench.synth import write_corpus

        print(f"generating the {policies}-policy synthetic corpus in {corpus300} …", flush=True)
        write_corpus(corpus300, policies, seed=seed)
    return corpus300


def corpus_chars(folder: Path) -> tuple[int, int]:
    """(files, characters) of the .txt files in a folder."""
    files = sorted(Path(folder).glob("*.txt"))
    return len(files), sum(len(p.read_text(encoding="utf-8")) for p in files)


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    return path


def read_gold() -> list[dict]:
    return [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines() if line.strip()]

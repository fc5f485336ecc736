"""HTTP load on `policychat serve`: requests/s, latency and errors at concurrency 1, 8 and 32.

Starts ``policychat serve --db DIR --host 127.0.0.1 --port P`` (a free loopback port; never any
other address) with POLICYCHAT_RATE_LIMIT=100000/60, waits for GET /healthz, sends 3 warm-up
asks, then at each concurrency level a fixed number of POST /api/ask requests (gold questions,
scoped to their policy) through a bounded httpx.AsyncClient with a hard time limit per level.
Reports requests/s, p50/p95/p99 latency, errors (non-200 or transport failures) and the
server's peak RSS (VmHWM from /proc/<pid>/status, summed over its processes), then stops it.
Optionally (default on) the same load against a minimal FastAPI app wrapping the naive
baseline (bench/baseline_server.py), in the same run.

    .venv/bin/python bench/load_bench.py --policies 300            # ≈ 4–6 min
    .venv/bin/python bench/load_bench.py --policies 5 300 --requests 100
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (DEFAULT_BASELINE300, DEFAULT_CORPUS300, DEFAULT_DB300, ROOT, corpus_for,  # noqa: E402
                           load_note, merge_previous, percentile, print_load, read_gold, report_targets,
                           table, verdict, vm_hwm_mb, vm_rss_mb,
                           write_results)

HOST = "127.0.0.1"   # loopback only: the bench never targets any other address
DEFAULT_DB5 = Path("/tmp/bench5")
DEFAULT_BASELINE5 = Path("/tmp/bench5-baseline")
RPS_RATIO_AT_8 = 0.8   # issue 16: our asks/s ≥ 0.8× the baseline server's requests/s, same run
RSS_RATIO = 1.0        # and a peak RSS no higher than the baseline server's


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tree_pids(pid: int) -> list[int]:
    """The server process and its descendants (uvicorn workers, if any)."""
    pids, frontier = [pid], [pid]
    while frontier:
        p = frontier.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        for k in map(int, kids):
            pids.append(k)
            frontier.append(k)
    return pids


def server_memory(pid: int) -> tuple[float, float]:
    """(peak RSS, current RSS) in MB summed over the server's processes."""
    pids = tree_pids(pid)
    return (sum(vm_hwm_mb(p) or 0 for p in pids), sum(vm_rss_mb(p) or 0 for p in pids))


class Server:
    def __init__(self, cmd: list[str], env: dict, log: Path):
        self.log = log.open("w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully on SIGINT
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode


async def wait_ready(base: str, proc: subprocess.Popen, timeout: float) -> float:
    import httpx

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=5) as client:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode} before /healthz answered")
            try:
                r = await client.get(f"{base}/healthz")
                if r.status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"/healthz did not answer 200 within {timeout:.0f}s")


async def run_level(base: str, bodies: list[dict], concurrency: int, requests: int, limit_s: float) -> dict:
    import httpx

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(timeout=httpx.Timeout(limit_s), limits=limits) as client:
        async def one(i: int) -> None:
            async with sem:
                body = bodies[i % len(bodies)]
                t = time.perf_counter()
                try:
                    r = await client.post(f"{base}/api/ask", json=body)
                    key = str(r.status_code)
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                statuses[key] = statuses.get(key, 0) + 1

        started = time.perf_counter()
        tasks = [asyncio.create_task(one(i)) for i in range(requests)]
        done, pending = await asyncio.wait(tasks, timeout=limit_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        elapsed = time.perf_counter() - started
    ok = statuses.get("200", 0)
    ms = [x * 1000 for x in latencies]
    return {"concurrency": concurrency, "sent": requests, "completed": sum(statuses.values()),
            "unfinished": len(pending), "ok": ok, "errors": sum(v for k, v in statuses.items() if k != "200"),
            "statuses": statuses, "elapsed_s": elapsed, "rps": ok / elapsed if elapsed else 0.0,
            "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
            "timed_out": bool(pending)}


def ensure_index(db: Path, corpus: Path) -> None:
    if (db / "chroma.sqlite3").exists():
        return
    print(f"building the index of {corpus} into {db} (not timed) …", flush=True)
    subprocess.run([sys.executable, "-m", "ui.cli", "index", "--db", str(db), "-q", str(corpus)],
                   check=True, cwd=ROOT)


async def first_asks(base: str, bodies: list[dict]) -> list[float]:
    """Latencies (ms) of the first ten asks after /healthz said ready: nine questions, then the
    first again, so the first and the tenth are the same question (issue 16: the first answer
    is no slower than the tenth)."""
    import httpx

    out = []
    async with httpx.AsyncClient(timeout=120) as client:
        for body in [*bodies[:9], bodies[0]]:
            t = time.perf_counter()
            await client.post(f"{base}/api/ask", json=body)
            out.append(1000 * (time.perf_counter() - t))
    return out


async def bench_server(system: str, cmd: list[str], env: dict, bodies: list[dict], levels: list[int],
                       requests: int, limit_s: float, log: Path, startup_s: float) -> dict:
    server = Server(cmd, env, log)
    base = f"http://{HOST}:{cmd[cmd.index('--port') + 1]}"
    out = {"system": system, "cmd": " ".join(cmd), "levels": []}
    try:
        out["startup_s"] = await wait_ready(base, server.proc, startup_s)
        peak, rss = server_memory(server.proc.pid)
        out["rss_ready_mb"] = rss
        out["first_asks_ms"] = await first_asks(base, bodies)
        await run_level(base, bodies[:3], 1, 3, limit_s)  # warm-up
        for c in levels:
            before = print_load(f"{system} c={c}")
            level = await run_level(base, bodies, c, requests, limit_s)
            level["load"] = load_note(before)
            level["server_peak_rss_mb"], level["server_rss_mb"] = server_memory(server.proc.pid)
            print(f"  {system} c={c}: {level['rps']:.1f} req/s, p50 {level['p50_ms']:.0f} ms, "
                  f"p95 {level['p95_ms']:.0f} ms, errors {level['errors']}, unfinished {level['unfinished']}",
                  flush=True)
            out["levels"].append(level)
        out["server_peak_rss_mb"] = server_memory(server.proc.pid)[0]
    finally:
        out["exit"] = server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--policies", type=int, nargs="+", choices=[5, 300], default=[300],
                    help="corpus sizes to serve (default: 300)")
    ap.add_argument("--db", type=Path, default=DEFAULT_DB300, help=f"300-policy index (default {DEFAULT_DB300})")
    ap.add_argument("--db5", type=Path, default=DEFAULT_DB5, help=f"5-policy index (default {DEFAULT_DB5})")
    ap.add_argument("--baseline-db", type=Path, default=DEFAULT_BASELINE300)
    ap.add_argument("--baseline-db5", type=Path, default=DEFAULT_BASELINE5)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS300)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32], help="concurrency levels (1 8 32)")
    ap.add_argument("--requests", type=int, default=200, help="requests per level (200)")
    ap.add_argument("--limit", type=float, default=120.0, help="hard time limit per level, seconds (120)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers for policychat serve (1)")
    ap.add_argument("--startup-timeout", type=float, default=300.0, help="seconds to wait for /healthz (300)")
    ap.add_argument("--skip-baseline", action="store_true", help="no baseline server rows")
    ap.add_argument("--omp-threads", type=int, help="OMP_NUM_THREADS for the servers (torch's intra-op "
                    "threads; default: unset = one per core) — an experiment")
    ap.add_argument("--name", default="load_bench", help="results file name (default load_bench)")
    args = ap.parse_args(argv)

    gold = read_gold()
    results = []
    logs = Path(tempfile.gettempdir()) / "bench-load-logs"   # server logs, outside the repository
    logs.mkdir(parents=True, exist_ok=True)
    for n in args.policies:
        corpus = corpus_for(n, args.corpus)
        db, bdb = (args.db5, args.baseline_db5) if n == 5 else (args.db, args.baseline_db)
        ensure_index(db, corpus)
        bodies = [{"question": r["question"], **({"policy": r["policy"]} if r.get("policy") else {})} for r in gold]
        env = {**os.environ, "POLICYCHAT_RATE_LIMIT": "100000/60", "POLICYCHAT_LOG_LEVEL": "WARNING"}
        env.pop("POLICYCHAT_HOST", None)
        if args.omp_threads:
            env["OMP_NUM_THREADS"] = str(args.omp_threads)
        port = free_port()
        cmd = [sys.executable, "-m", "ui.cli", "serve", "--db", str(db), "--host", HOST,
               "--port", str(port)] + (["--workers", str(args.workers)] if args.workers > 1 else [])
        print(f"serving {n} policies: {' '.join(cmd)}", flush=True)
        res = asyncio.run(bench_server("ours", cmd, env, bodies, args.levels, args.requests, args.limit,
                                       logs / f"load_server_{n}.log", args.startup_timeout))
        res["policies"] = n
        res["workers"] = args.workers
        res["omp_threads"] = args.omp_threads
        results.append(res)
        if not args.skip_baseline:
            port = free_port()
            cmd = [sys.executable, str(ROOT / "bench" / "baseline_server.py"), "--db", str(bdb),
                   "--corpus", str(corpus), "--port", str(port)]
            print(f"serving the baseline over {n} policies: {' '.join(cmd)}", flush=True)
            res = asyncio.run(bench_server("baseline", cmd, env, bodies, args.levels, args.requests, args.limit,
                                           logs / f"load_baseline_{n}.log", args.startup_timeout))
            res["policies"] = n
            results.append(res)

    results = merge_previous(args.name, "results", results, ("policies", "system"))
    results.sort(key=lambda r: (r["policies"], r["system"] != "ours"))
    rows = []
    for r in results:
        for lv in r["levels"]:
            rows.append([r["policies"], r["system"], lv["concurrency"], lv["ok"], lv["errors"], lv["unfinished"],
                         lv["elapsed_s"], lv["rps"], lv["p50_ms"], lv["p95_ms"], lv["p99_ms"],
                         lv["server_peak_rss_mb"], lv["load"]["load_before"][0]])
    print()
    print(table(["policies", "server", "concurrency", "ok", "errors", "unfinished", "seconds", "req/s", "p50 ms",
                 "p95 ms", "p99 ms", "server peak RSS MB", "load 1m"], rows))
    print()
    print(table(["policies", "server", "ready after s", "RSS when ready MB", "1st ask ms", "10th ask (same question) ms"],
                [[r["policies"], r["system"], r.get("startup_s"), r.get("rss_ready_mb"),
                  r.get("first_asks_ms", [None])[0], r.get("first_asks_ms", [None])[-1]] for r in results]))

    targets = []
    for r in results:
        if r["system"] != "ours":
            continue
        base = next((b for b in results if b["system"] == "baseline" and b["policies"] == r["policies"]), None)
        at8 = next((lv for lv in r["levels"] if lv["concurrency"] == 8), None)
        base8 = next((lv for lv in base["levels"] if lv["concurrency"] == 8), None) if base else None
        if at8 and base8:
            targets.append([r["policies"], f"asks/s at concurrency 8 ≥ {RPS_RATIO_AT_8}× baseline ({base8['rps']:.1f})",
                            f"{at8['rps']:.1f} req/s ({at8['rps'] / base8['rps']:.2f}×)",
                            verdict(at8["rps"] >= RPS_RATIO_AT_8 * base8["rps"])])
        firsts = r.get("first_asks_ms")
        if firsts:
            targets.append([r["policies"], "first ask after ready no slower than the tenth (same question)",
                            f"{firsts[0]:.0f} vs {firsts[-1]:.0f} ms", verdict(firsts[0] <= max(firsts[-1] * 1.2, firsts[-1] + 20))])
        if at8:
            targets.append([r["policies"], "zero errors at concurrency 8", f"{at8['errors']} errors, "
                            f"{at8['unfinished']} unfinished", verdict(at8["errors"] == 0 and at8["unfinished"] == 0)])
        if base:
            ours_mb, base_mb = r.get("server_peak_rss_mb", 1e9), base.get("server_peak_rss_mb", 0)
            targets.append([r["policies"], f"peak RSS serving ≤ baseline's ({base_mb:.0f} MB)", f"{ours_mb:.0f} MB",
                            verdict(ours_mb <= RSS_RATIO * base_mb)])
    write_results(args.name, {"results": results, "targets": report_targets(
        "Targets", ["policies", "target", "measured", "verdict"], targets)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

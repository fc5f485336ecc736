"""Crash safety for the embedded store: an indexing run works under a write marker with a
copy of the previous index beside it; a run that dies is rolled back on the next open.

Chroma's embedded engine lives inside the indexing process, so killing that process can
leave its vector segment out of step with its metadata. Restoring the copy gives the reader
the previous, consistent index; the next run redoes the work.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

MARKER = ".writing"
STAMP = ".stamp"
BACKUP = ".backup"
# Derived files, never backed up: the BM25 cache and read tables (rebuilt when stale), and the
# ONNX export of the embedding model (index/onnx_embed.py, tied to the model, not the index).
SKIP = {MARKER, BACKUP, f"{BACKUP}.tmp", "bm25", STAMP, "read", "model"}


def touch_stamp(db_dir: Path) -> None:
    """Tell other processes holding this index open that it changed under them."""
    (db_dir / STAMP).write_text(str(os.getpid()))


def stamp_of(db_dir: Path) -> float:
    try:
        return (db_dir / STAMP).stat().st_mtime_ns
    except OSError:
        return 0.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _copy_contents(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.name in SKIP:
            continue
        target = dest / item.name
        if item.is_dir():
            shutil.copytree(item, target)
        else:
            shutil.copy2(item, target)


def recover_if_needed(db_dir: Path) -> bool:
    """Roll back an interrupted run (its writer is gone); True if something was restored."""
    marker = db_dir / MARKER
    if not marker.exists():
        return False
    try:
        pid = int(json.loads(marker.read_text()).get("pid", 0))
    except (ValueError, OSError):
        pid = 0
    if pid == os.getpid() or (pid and _alive(pid)):
        return False  # a run is in progress (here, or in another process)
    backup = db_dir / BACKUP
    if backup.is_dir():
        for item in db_dir.iterdir():
            if item.name in SKIP:
                continue
            shutil.rmtree(item) if item.is_dir() else item.unlink()
        _copy_contents(backup, db_dir)
    shutil.rmtree(db_dir / "bm25", ignore_errors=True)
    shutil.rmtree(backup, ignore_errors=True)
    marker.unlink(missing_ok=True)
    touch_stamp(db_dir)
    return True


@contextlib.contextmanager
def guarded_write(db_dir: Path):
    """Run an indexing job so that dying half-way leaves the previous index in place."""
    db_dir.mkdir(parents=True, exist_ok=True)
    recover_if_needed(db_dir)
    tmp, backup = db_dir / f"{BACKUP}.tmp", db_dir / BACKUP
    shutil.rmtree(tmp, ignore_errors=True)
    _copy_contents(db_dir, tmp)
    tmp.rename(backup)
    (db_dir / MARKER).write_text(json.dumps({"pid": os.getpid()}))
    try:
        yield
    except BaseException:
        recover_if_needed(db_dir)
        raise
    (db_dir / MARKER).unlink(missing_ok=True)
    shutil.rmtree(backup, ignore_errors=True)
    touch_stamp(db_dir)

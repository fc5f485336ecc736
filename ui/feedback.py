"""Thumbs up/down on answers, kept in a small SQLite file.

Privacy: the question is stored as a SHA-256 hash unless the operator sets
POLICYCHAT_FEEDBACK_KEEP_TEXT=1. Failures (full disk, locked or corrupt file, read-only
directory) are logged and reported as ``False``; they never reach the person chatting.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger("policychat.feedback")

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    session_id TEXT,
    policy TEXT,
    rating INTEGER NOT NULL,          -- +1 thumbs up, -1 thumbs down, 0 withdrawn
    question_sha256 TEXT NOT NULL,
    question TEXT,                    -- only with POLICYCHAT_FEEDBACK_KEEP_TEXT=1
    answer TEXT,                      -- only with POLICYCHAT_FEEDBACK_KEEP_TEXT=1
    abstained INTEGER,
    citations TEXT                    -- JSON: [{policy, section, start, end, version}]
)
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


class FeedbackStore:
    def __init__(self, path: Path | str, keep_text: bool = False, timeout: float = 2.0):
        self.path = Path(path)
        self.keep_text = keep_text
        self.timeout = timeout
        self._ready = False
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout)
        if not self._ready:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn.execute(SCHEMA)
                conn.commit()
                self._ready = True
        return conn

    def record(self, *, question: str, rating: int, answer: str = "", policy: str | None = None,
               session_id: str | None = None, abstained: bool | None = None,
               citations: list[dict] | None = None) -> bool:
        """Store one rating; True when stored, False (logged) when the store failed."""
        cites = [{k: c.get(k) for k in ("policy", "section", "start", "end", "version")}
                 for c in (citations or [])]
        row = (time.time(), session_id, policy, int(rating), sha256(question),
               question if self.keep_text else None, answer if self.keep_text else None,
               None if abstained is None else int(bool(abstained)), json.dumps(cites))
        try:
            conn = self._connect()
            try:
                with conn:
                    conn.execute("INSERT INTO feedback (created, session_id, policy, rating, question_sha256, "
                                 "question, answer, abstained, citations) VALUES (?,?,?,?,?,?,?,?,?)", row)
            finally:
                conn.close()
            return True
        except (sqlite3.Error, OSError) as exc:
            log.warning("feedback not stored (%s): %s", self.path, exc)
            return False

    def rows(self) -> list[dict]:
        """Every stored rating, oldest first (for operators and tests)."""
        try:
            conn = self._connect()
        except (sqlite3.Error, OSError):
            return []
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM feedback ORDER BY id")]
        finally:
            conn.close()

"""PolicyQA-dev (../shared/external/policyqa-dev): questions, folds by policy, and its scoring.

The data is read from the shared folder only; it never ships with the package. Folds put
every question of a policy in one fold, so that no policy is in both training and validation.
Scores follow the folder's score.py: hit, practice hit (hit_type), seg, chars, abstain.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT.parent / "shared" / "external" / "policyqa-dev"
FOLDS = 5
SEED = 115
VALIDATION_FOLD = 0


class PolicyQAMissing(FileNotFoundError):
    """The shared PolicyQA-dev folder is not on this machine (it is not part of the product)."""


@dataclass(frozen=True)
class PQuestion:
    id: str
    question: str
    policy: str
    type: str
    spans: tuple[tuple[int, int], ...]
    type_spans: tuple[tuple[int, int], ...]
    type_segments: tuple[tuple[int, int], ...]
    answers: tuple[str, ...]


def data_dir(path: Path | str | None = None) -> Path:
    folder = Path(path) if path else DEFAULT_DIR
    if not (folder / "questions.jsonl").is_file():
        raise PolicyQAMissing(f"PolicyQA-dev is not at {folder} (it lives in ../shared, beside the project)")
    return folder


def load_questions(folder: Path | str | None = None) -> list[PQuestion]:
    out = []
    for line in (data_dir(folder) / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        out.append(PQuestion(q["id"], q["question"], q["policy"], q["type"], tuple(map(tuple, q["spans"])),
                             tuple(map(tuple, q.get("type_spans", []))), tuple(map(tuple, q.get("type_segments", []))),
                             tuple(q.get("answers", []))))
    return out


def policy_files(folder: Path | str | None = None) -> list[Path]:
    return sorted((data_dir(folder) / "policies").glob("*.txt"))


def folds(policies: list[str], n: int = FOLDS, seed: int = SEED) -> dict[str, int]:
    """Each policy's fold: a seeded shuffle dealt round-robin (the same on every machine)."""
    ordered = sorted(policies)
    random.Random(seed).shuffle(ordered)
    return {p: i % n for i, p in enumerate(ordered)}


def overlaps(start: int, end: int, spans) -> bool:
    return any(start < e and s < end for s, e in spans)


def score(questions: list[PQuestion], answers: dict[str, dict]) -> dict:
    """score.py's measures over ``answers`` (by question id, the ask --json contract)."""
    n = len(questions)
    totals = {"hit": 0, "hit_type": 0, "seg": 0, "chars": 0, "abstain": 0}
    for q in questions:
        a = answers.get(q.id) or {"abstained": True, "citations": []}
        cits = [c for c in a.get("citations", []) if c.get("policy", q.policy) == q.policy]
        totals["hit"] += any(overlaps(c["start"], c["end"], q.spans) for c in cits)
        totals["hit_type"] += any(overlaps(c["start"], c["end"], q.type_spans) for c in cits)
        totals["seg"] += any(s <= c["start"] and c["end"] <= e + 1 for c in cits for s, e in q.type_segments)
        totals["chars"] += sum(c["end"] - c["start"] for c in cits)
        totals["abstain"] += bool(a.get("abstained"))
    if not n:
        return {"n": 0}
    return {"n": n, "hit": round(totals["hit"] / n, 3), "practice_hit": round(totals["hit_type"] / n, 3),
            "seg": round(totals["seg"] / n, 3), "chars": round(totals["chars"] / n),
            "abstain": round(totals["abstain"] / n, 3)}


def answer_all(assistant, questions: list[PQuestion]) -> dict[str, dict]:
    """Each question asked of ``assistant`` with its policy given: the ask --json contract by id."""
    return {q.id: assistant.ask(q.question, policy=q.policy).to_contract() for q in questions}

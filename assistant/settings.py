"""How the assistant answers, beyond the ranker's own thresholds: one validated record.

The switches name the context steps that follow ranking; each is kept only while it pays in
the ablation table of docs/quality.md (``python -m eval.ablate``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerSettings:
    candidates: int = 40          # units ranked per policy besides those of the top chunks
    question_parts: bool = True   # a two-part question gets the best passage of each part
    sibling_items: bool = True    # "what do you collect": an item brings its list's other items
    antecedents: bool = True      # "These cookies …" brings the sentence it points back to
    named_items: bool = True      # "which companies …": a description brings the names under it
    list_intros: bool = True      # a list intro is replaced by (or joined with) its items

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")

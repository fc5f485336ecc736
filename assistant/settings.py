"""How the assistant answers, beyond the ranker's own thresholds: one validated record.

The switches name the context steps that follow ranking; each is kept only while it pays in
the ablation table of docs/quality.md (``python -m eval.ablate``); two that did not (a list's
other items for "what do you collect", the names under a description) were removed.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerSettings:
    candidates: int = 40          # units ranked per policy besides those of the top chunks
    question_parts: bool = True   # a two-part question gets the best passage of each part
    antecedents: bool = True      # "These cookies …" brings the sentence it points back to
    list_intros: bool = True      # a list intro is replaced by (or joined with) its items
    require_named: bool = True    # a question naming an organisation ("do you use Stripe?") is
                                  # answered only by passages that name it

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")

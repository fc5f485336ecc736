"""The record one question carries through the assistant's steps (assistant/pipeline.py)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.evidence import Evidence
from assistant.records import Answer, Citation
from assistant.route import Route
from assistant.session import Rewrite, Session
from index.records import Policy


@dataclass
class PolicyEvidence:
    """What one policy offers for a question: its chosen passages, and P(it answers at all)."""

    policy: str
    evidence: list[Evidence]
    answerable: float


@dataclass
class AskState:
    """One question on its way through the steps."""

    question: str                      # normalised
    policy: str | None                 # the policy the caller chose, if any
    session: Session | None
    policies: dict[str, Policy]        # the index's policies when the question came in
    answer: Answer                     # the answer so far: the extractive answer once done
    rewrite: Rewrite | None = None     # the question made standalone, with the scope it carries
    route: Route | None = None         # the policies and versions asked about
    topic: str = ""                    # the standalone question without policy names and version cues
    vector: np.ndarray | None = None   # the topic's embedding
    evidence: list[PolicyEvidence] = field(default_factory=list)
    sources: list[Citation] | None = None  # what a generative model may answer from; None: it may not
    done: bool = False

    @property
    def titles(self) -> dict[str, str]:
        return {pid: p.title for pid, p in self.policies.items()}


Step = Callable[[AskState], AskState]

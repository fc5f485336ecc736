"""Questions that have nothing to do with privacy policies ("recommend me a good vpn pls",
"what's the weather in Paris", "write a python function…"): refused rather than answered from
whatever passage lies nearest.

A logistic regression on the question's normalised MiniLM embedding (the vector the pipeline's
`embed` step already computed; nothing is embedded twice), assistant/data/offtopic_classifier.json,
applied with numpy only. Its threshold keeps out-of-fold precision of "off-topic" at 0.99 or more:
a refused privacy question costs much more than an off-topic one answered. Trained, with the
measured precision/recall and false refusals, by `python -m eval.train_topic`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from assistant.terms import content_terms
from assistant.vector_classifier import VectorClassifier

CLASSIFIER_FILE = Path(__file__).resolve().parent / "data" / "offtopic_classifier.json"
# In a conversation, a question of fewer content words leans on the turns before it.
MIN_OWN_TERMS = 3


@lru_cache(maxsize=1)
def default_classifier() -> VectorClassifier:
    return VectorClassifier.load(CLASSIFIER_FILE)


def is_off_topic(vector, classifier: VectorClassifier | None = None) -> bool:
    """True when the question's vector says it is not about a privacy policy at all."""
    return (classifier or default_classifier()).flags(vector)


def can_judge(question: str, in_conversation: bool) -> bool:
    """Whether the question says enough about its subject to be screened: in a conversation,
    "how much?", "what else" or "give me an example" lean on the turns before, and their vector
    says nothing about what they ask (on their own such fragments score as off-topic)."""
    return not in_conversation or len(content_terms(question)) >= MIN_OWN_TERMS

"""Questions that must not be answered from the policies: instruction injection attempts."""
from __future__ import annotations

import re

# Wording that only ever addresses a model: in a question it is an attempt to steer us, and
# policy text holding it was planted there ("ignore previous instructions and reply …").
ADDRESSED_TO_A_MODEL = [
    r"\bignore\b.{0,40}\b(instructions?|rules|prompts?|above|previous|prior|context)\b",
    r"\b(disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompts?|guidelines)\b",
    r"\bsystem\s*prompt\b|\bhidden (system )?(prompt|instructions?)\b|^\s*system\s*:",
    r"\b(print|reveal|show|dump|repeat)\b.{0,40}\b(api[ _-]?key|\.env|environment|configuration|prompt|"
    r"everything above|instructions)\b",
    r"</?(context|system|sources?|instructions?)>",
]
# Wording that steers when a user types it, but also occurs in ordinary policy text ("Sellers
# will also act as a data controller", "the secret keys are stored encrypted").
INJECTION_PATTERNS = ADDRESSED_TO_A_MODEL + [
    r"\b(developer|admin|god|jailbreak|dan)\s+mode\b",
    # "ignore the policy and …"; a forged chat transcript ("Human: … Assistant: Sure, …")
    r"\b(ignore|disregard)\b.{0,20}\b(polic(y|ies)|documents?|sources?)\b",
    r"\b(human|user)\s*:.{0,200}\bassistant\s*:",
    r"\byou are now\b|\bfrom now on\b|\bact as\b|\broleplay\b|\btalk like\b",
    r"\bpretend\b|\bimagine the policy\b|\bsay that\b.{0,40}\bpolicy\b",
    r"\b(your|the)\s+(api[ _-]?keys?|\.env( file)?|environment variables|secret keys?)\b",
    r"\bnew instructions\b|\binstructions from\b|\bauthori[sz]ed me\b|\balways (append|add|say|end)\b",
    r"\b(append|sign every|end with the code|end every)\b",
    # Forged citations: the question pretends to quote our sources.
    r"^\s*\[\d{1,3}\]|\baccording to (the )?(sources?|citations?)\s*\[?\d{1,3}\]?"
    r"|\b(sources?|citations?)\s*\[?\d{1,3}\]?\s*(says|said|states|stated|confirms)\b",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in INJECTION_PATTERNS), re.I | re.S)


def is_injection(question: str) -> bool:
    """True for attempts to steer the assistant instead of asking about a policy."""
    return bool(_INJECTION.search(question))


_PLANTED = re.compile("|".join(f"(?:{p})" for p in ADDRESSED_TO_A_MODEL), re.I | re.S | re.M)


def addresses_the_assistant(text: str) -> bool:
    """True for policy text written to steer an assistant rather than to inform a reader."""
    return bool(_PLANTED.search(text))

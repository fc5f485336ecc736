"""Privacy-domain vocabulary: words users type and the words policies use for the same thing,
and the kind of answer a question asks for (a duration, an address, a date …)."""
from __future__ import annotations

import re
from functools import lru_cache

from assistant.terms import stem

SYNONYM_GROUPS = [
    "kid kids child children minor minors teen teens teenager underage young age parent parental",
    "delete deletion erase erasure remove removal close closing",
    "keep retain retention store storage stored period long",
    "share shared sharing disclose disclosure give transfer receive recipient recipients third",
    "contact email reach write call phone address officer",
    "cookie cookies tracking tracker trackers beacon beacons pixel analytics",
    "pay payment payments card billing bank paypal stripe credit debit purchase",
    "secure security protect protection safeguard safeguards encrypt encryption hack hacked breach leak",
    "abroad outside overseas international country countries transfer",
    "right rights access copy correct correction rectify object objection portability",
    "update updated change changes revise revised effective",
    "sell sale sold rent",
    "buy buys buying bought buyer buyers purchase purchases purchasing purchased shop shopping",
    "regulator regulators authority authorities supervisory ombudsman",
    # "What happens to my data if the company is sold?": policies say merger or acquisition.
    "sold merger merge mergers acquisition acquisitions acquire acquired takeover bankruptcy reorganization",
    "ads advertising advertisers marketing promotional promo newsletter newsletters",
    "fix wrong incorrect inaccurate inaccuracy inaccuracies rectify rectification correct correction corrections amend",
    "translated translation translations translate language languages english",
]


@lru_cache(maxsize=1)
def synonym_map() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for group in SYNONYM_GROUPS:
        stems = {stem(w) for w in group.split()}
        for s in stems:
            out.setdefault(s, set()).update(stems)
    return {k: frozenset(v - {k}) for k, v in out.items()}


# Abbreviations users type that policies spell out; the embedding model does not know "DPO".
# (Also "how old": the policies speak of an age, "under the age of 18", never of being old.)
ABBREVIATIONS = {"dpo": "data protection officer", "dpos": "data protection officers", "how old": "what age"}
_ABBREVIATION_RE = re.compile(r"(?i)\b(" + "|".join(ABBREVIATIONS) + r")\b")


def expand_abbreviations(text: str) -> str:
    """"who is the DPO" → "who is the data protection officer (DPO)"; "how old" → "what age (how old)"."""
    return _ABBREVIATION_RE.sub(lambda m: f"{ABBREVIATIONS[m.group(1).lower()]} ({m.group(1)})", text)


EMAIL = r"[\w.+-]+@[\w-]+\.[\w.]+"
# Not \b: markdown italics ("_updated on May 24, 2018_") put a word character after the year.
# Not "(EU) 2016/679": a regulation's number, not a date.
YEAR = r"(?<!\d)(19|20)\d{2}(?![\d/])"

ANSWER_TYPES = [
    # (what the question asks, what an answering passage contains)
    (re.compile(r"(?i)\bhow long\b|\bretain|\bretention\b|\bkeep\b.*\b(data|info)"),
     re.compile(r"(?i)\b\d+\s*(day|week|month|year)s?\b|\bas long as\b|\bretain|\buntil\b|\bperiod\b")),
    (re.compile(r"(?i)\bcontact\b|\bemail\b|\breach\b|\bget in touch\b|\bphone\b|\bcall\b|\bwrite to\b"),
     re.compile(EMAIL + r"|\(\d{2,3}\)\s*\d|\bcontact us\b")),
    (re.compile(r"(?i)\bwhen\b.*\b(updated|revised|effective|changed|take effect)\b|\blast updated\b"),
     re.compile(YEAR)),
    (re.compile(r"(?i)\b(kid|kids|child|children|minor|minors|teen|\d{1,2}[ -]year[ -]old|under ?1[0-9]|age)\b"),
     re.compile(r"(?i)\b(minor|minors|child|children|age of|over 1[0-9]|under 1[0-9]|adults?|parent)")),
    # "Who is the data controller / the representative?" asks for a name.
    (re.compile(r"(?i)\bwho(?:'s| is| are)\b"),
     re.compile(r"\bName:|\b(?:Limited|Ltd|Inc|LLC|GmbH|Pte|Corporation|S\.A\.|B\.V\.)(?:\W|$)")),
    (re.compile(r"(?i)\bhow (do|can) i\b|\bhow to\b"),
     re.compile(r"(?i)\b(you can|you may|please|by (sending|emailing|visiting|clicking)|contact|request)\b")),
]
ANSWER_TYPE_BONUS = 0.08

_NUMBER = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|thirty|sixty|ninety)"
DURATION = rf"(?i)\b{_NUMBER}\s*(\(\d+\)\s*)?(business |calendar |working )?(year|month|week|day|hour)s?\b"
REQUIRED_ANSWER_TYPES = [
    # "How long do you keep my data?" asks how long data is kept: a passage about keeping or
    # deleting data ("retain", "deleted", "stored") with a time ("2 years", "as long as …",
    # "until …"). "It may take up to ten business days to process your opt-out" has the time only.
    (re.compile(r"(?i)\bhow long\b.*\b(keep|kept|retain|retained|store|stored|hold|held|save|saved)\b"),
     re.compile(r"(?is)(?=.*\b(retain|retention|keep|kept|stor(e|ed|ing|age)|hold|held|delet|eras|anonymi[sz]|destroy)\w*)"
                r"(?=.*(" + DURATION.removeprefix("(?i)") + r"|\bas long as\b|\buntil\b|\bperiod\b|\bretention\b|\bno longer\b"
                r"|\bduration\b|\blength of time\b|\bcontinue to (store|retain|keep|hold)\b"
                r"|\bafter (terminat|delet|clos|cancel)\w*))")),
    # Questions asking for a value of one kind: a passage without such a value cannot answer
    # them, however close its topic ("how many years" + "we retain your data as long as ...").
    (re.compile(r"(?i)\bhow many (years|months|weeks|days|hours)\b"),
     re.compile(DURATION)),
    (re.compile(r"(?i)\bhow much\b.*\b(cost|costs|charge|charges|price|fee|fees)\b"),
     re.compile(r"(?i)[$€£¥]\s?\d|\b\d+(\.\d+)?\s?(usd|eur|gbp|dollars?|euros?|pounds?)\b"
                r"|\bfree of charge\b|\b(no|any) (fee|charge)s?\b|\ba fee\b")),
    (re.compile(r"(?i)\bwhen\b.*\b(updated|revised|effective|take effect|took effect|came into effect)\b"),
     re.compile(YEAR)),
    # "Do you sell my data?" asks about selling personal data: "details of the goods you intend
    # to sell" shares the verb only, and "we process your data lawfully" the object only.
    (re.compile(r"(?i)\b(sell|sells|selling|sold|sale)\b(\W+\w+){0,4}?\W+(data|info|information|details)\b"),
     re.compile(r"(?is)(?=.*\b(sell|sells|selling|sold|sale|rent)\b)"
                r"(?=.*\b(personal (information|data|info)|your (data|information|info)|information about you)\b)")),
    # "Do you transfer my data outside the EU?" asks where data goes: a passage naming a place
    # or a border ("countries outside of the EEA", "stored in Germany"). "Stripe transfers the
    # money to us" and "we follow the GDPR" share a word and say nothing of it.
    (re.compile(r"(?i)\b(transfer\w*|send|sent|sending|move[ds]?|moving|export\w*)\b.{0,40}\b(outside|abroad|"
                r"overseas|international\w*|countr\w*|eu|eea|europe|china|us|usa|united states|america)\b"),
     re.compile(r"(?i)\b(outside|abroad|overseas|international(ly)?|cross-border|countr(y|ies)|EEA|European Economic "
                r"Area|jurisdictions?|(located|stored|hosted|processed) in|servers? in)\b")),
    # "How do I contact you?" asks for an address: "contact us using the details in section H"
    # or "your email address and Skype details" name the topic, not the way to reach anyone.
    (re.compile(r"(?i)\bhow (do|can|should|would) i (contact|reach|email|e-mail|write to|call|get in touch)\b"
                r"|\b(what|which) (e-?mail|email address|phone number|address)\b.*\b(contact|reach|write|use)\b"
                r"|\b(what|which)(\s+is|'s)?\s+(the|your|their)\s+(e-?mail|email address|phone number)\b"
                r"|\bwho (do|should) i (contact|email|write to)\b"),
     re.compile(EMAIL + r"|\(\d{2,3}\)\s*\d|\+\d[\d ()-]{6,}|https?://|\bwww\."
                r"|(?i:\bcontact(ing)? us (by|via|through|on)\b|\bcontact\W{0,2} (link|form|page)\b)")),
]


PREFERRED_ANSWER_TYPES = [
    # "How do I delete my account?" asks what the user can do: "you can request …", "by emailing
    # …", "the right to …". "Data is retained after deletion of your account" has every word of
    # the question and answers another one. Preferred, not required: when no such passage is
    # close enough, the closest passage still answers.
    (re.compile(r"(?i)\bhow (do|can|could|should|would) i\b|\bhow to\b"),
     re.compile(r"(?i)\b(you|users?)\b[^.;:]{0,40}?\b(can|may|could|have the right|are entitled|are able|will need)\b"
                r"(?!\s+not\b)"
                r"|\bplease (contact|email|e-mail|write|visit|click|follow|send|call|use|go|adjust|change|submit|fill|let us)"
                r"|\bby (send|email|e-mail|visit|click|contact|writ|call|submit|follow|us|select|chang|adjust)\w*"
                r"|\b(contact|email|e-mail|write to|ask) us\b|\bthe right\b|\bright (of|to)\b|\brequest"
                r"|\bopt.?out\b|\bunsubscribe\b|\bsettings?\b|\bpreferences\b")),
    # "What security measures do you take?" asks what is done: "we employ commercially reasonable
    # security methods", "data is encrypted". "No transmission over the internet can be
    # guaranteed to be perfectly secure" is on topic and answers another question.
    (re.compile(r"(?i)\b(security|safety|protection)\s+(measures?|methods?|steps|safeguards?|practices|controls?)\b"
                r"|\bhow (is|are|do you|does \w+) (my |your )?(data|info|information|details)?\s*(protected|secured|kept safe)\b"
                r"|\bhow do (you|they|\w+) (protect|secure|safeguard)\b"
                r"|\bwhat (steps|measures|precautions)\b.{0,40}\b(safe|secure|protect\w*)\b"),
     re.compile(r"(?i)\b(we|our \w+)\s+(\w+\s+)?(use|uses|employ|employs|implement|implements|maintain|maintains|"
                r"adopt|adopts|apply|applies|encrypt|encrypts|restrict|restricts|limit|limits)\b"
                r"|\bwe (take|have) (\w+ ){0,3}(steps|measures|safeguards|controls)\b|\bby (adopting|using|implementing|employing)\b"
                r"|\b(safeguards|measures|methods|controls|steps)\s+(include|includes|are|consist)\b"
                r"|\bsecure(ly)? (servers?|storage|facilities|data cent(er|re)s?)\b"
                r"|\b(encrypt\w*|SSL|TLS|firewalls?|access controls?|pseudonymi[sz]\w*|anonymi[sz]\w*)\b")),
]


# "Which of these policies mention GDPR?": only a passage that names the thing mentions it.
MENTION_RE = re.compile(r"(?i)\b(?:mention|mentions|mentioned|say anything about|talk about|refer to)\s+"
                        r"(?:the\s+|a\s+|an\s+)?([\w.&-]+(?:\s+[\w.&-]+){0,3}?)\s*[?.!]*$")


def required_answer_type(question: str) -> re.Pattern | None:
    """What a passage must contain to answer ``question`` (a duration, an amount, a date, the
    very words of the thing it asks whether the policy mentions), if anything."""
    mention = MENTION_RE.search(question)
    if mention:
        return re.compile("".join(rf"(?=.*\b{re.escape(w)}\b)" for w in mention.group(1).split()), re.I | re.S)
    return next((a for q, a in REQUIRED_ANSWER_TYPES if q.search(question)), None)


def preferred_answer_type(question: str) -> re.Pattern | None:
    """What a passage should contain to answer ``question`` well, if a close one does."""
    return next((a for q, a in PREFERRED_ANSWER_TYPES if q.search(question)), None)


def answer_type_bonus(question: str, unit_text: str) -> float:
    """A bonus when the passage holds the kind of thing the question asks for."""
    return max((ANSWER_TYPE_BONUS for q, a in ANSWER_TYPES if q.search(question) and a.search(unit_text)),
               default=0.0)


# Things a question can ask about by name. A passage that does not name the thing does not
# answer ("does podpartner use Stripe?" is not answered by "payments go to payment processors").
NAMED_THINGS = [
    "stripe", "paypal", "apple pay", "google pay", "klarna", "visa", "mastercard", "american express",
    "insurance", "insurer", "insurers", "fingerprint", "fingerprints", "face id", "facial recognition",
    "biometric", "biometrics", "retina", "voiceprint",
    "facebook", "instagram", "twitter", "tiktok", "linkedin", "youtube", "whatsapp", "snapchat", "pinterest",
    "criteo", "yandex", "bing", "yahoo", "hotjar", "mixpanel", "google analytics", "vkontakte",
]
_NAMED_THING_RE = re.compile(r"(?i)\b(" + "|".join(re.escape(t) for t in NAMED_THINGS) + r")\b")


# A technical name: a cookie or parameter such as "acs_usuc_t" or "_ga" (policies escape the
# underscore in markdown: "acs\_usuc\_t").
_IDENTIFIER_RE = re.compile(r"(?<![\w\\])_?[a-z0-9]+(?:\\?_[a-z0-9]+)+_?(?!\w)|(?<!\w)_[a-z0-9]{2,}(?!\w)", re.I)


def named_things(text: str) -> set[str]:
    """The named things (brands, biometrics, insurers, cookie names …) a text mentions, as stems."""
    ids = {m.lower().replace("\\", "") for m in _IDENTIFIER_RE.findall(text)}
    return {" ".join(stem(w) for w in m.lower().split()) for m in _NAMED_THING_RE.findall(text)} | ids

"""A synthetic corpus of N privacy policies recombined from the five bundled ones.

Every synthetic policy is a new company ("Quorvex", "Talmiro", …) whose text is made of
sections cut from the bundled policies (``index/corpus/*.txt``) at the project's own section
boundaries, with every brand name (AliExpress, Alibaba, AliPartnership, PODpartner, AloPal and
their affiliates), e-mail address and brand domain rewritten to the new company's. Headings are
kept (rewritten as ``## Title`` / ``## 3. Title`` lines, a style the sectioner ranks above every
style used inside the sections), so the indexer sections and chunks them like real policies.
Selection and order of the sections vary per policy, deterministically from ``--seed``.

By default the corpus also holds the five bundled policies under their own ids, so the gold
questions can still be scoped to them (``--no-originals`` leaves them out):

    .venv/bin/python bench/synth.py --policies 300 --out /tmp/bench300-corpus
"""
from __future__ import annotations

import argparse
import difflib
import random
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import DEFAULT_CORPUS300, bundled_corpus, read_gold  # noqa: E402

ORIGINAL_IDS = ("alibaba", "aliexpress", "alipartnership", "alopal", "podpartner")

# Brand words, longest first; main brands become the company name, affiliates company + suffix.
MAIN_BRANDS = ["AliPartnership", "AliExpress", "PODpartner", "Alibaba", "AloPal"]
AFFILIATES = {"Alipay": "Pay", "Alimama": "Ads", "AliTelecom": "Telecom", "Taobao": "Market",
              "Tmall": "Mall", "Fliggy": "Travel", "Lazada": "Asia", "1688": "Wholesale"}
BRAND_RE = re.compile("|".join(re.escape(b) for b in sorted(MAIN_BRANDS + list(AFFILIATES), key=len, reverse=True)),
                      re.IGNORECASE)
EMAIL_RE = re.compile(r"\b([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")
HEADING_PREFIX_RE = re.compile(r"^\s*(#{1,6}\s*)?(\*\*)?\s*(?:[A-Z]\s*\.|\d{1,3}(?:\.\d{1,3})*\s*[.\-)])?\s*")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]

SYLLABLES_A = ["Qu", "Zor", "Tal", "Vex", "Kry", "Bel", "Mor", "Ny", "Ost", "Pryn", "Sef", "Ul", "Wex",
               "Yar", "Cal", "Dov", "Fen", "Gry", "Hal", "Jov", "Lum", "Nex", "Oph", "Rav", "Tyr", "Vol"]
SYLLABLES_B = ["vi", "mi", "ra", "lo", "ne", "qua", "ta", "do", "xi", "ro", "ze", "ka", "lu", "pe", "sa",
               "ny", "o", "e"]
SYLLABLES_C = ["ro", "vex", "dra", "nto", "lix", "mar", "ndo", "rix", "vo", "tis", "nea", "lon", "ska",
               "zu", "bra", "mo", "x", "n"]
TLDS = ["com", "io", "net", "co", "app", "shop"]


@dataclass(frozen=True)
class Block:
    donor: str
    title: str
    body: str          # the section text after its heading line


@dataclass(frozen=True)
class Donor:
    policy_id: str
    intro: str
    blocks: list[Block]


# --- cutting the bundled policies into blocks ------------------------------------------------
def donors(corpus: Path | None = None) -> list[Donor]:
    """The bundled policies as intros plus heading-titled blocks (sections), every version."""
    from index.clean import clean
    from index.load import load_document
    from index.sections import INTRO, build_sections
    from index.versions import split_versions

    out = []
    for path in sorted((corpus or bundled_corpus()).glob("*.txt")):
        doc = load_document(path)
        cleaned = clean(doc.text)
        intro, blocks = "", []
        for version in split_versions(cleaned):
            sections = build_sections(cleaned, version)
            top = [s for s in sections if s.level == 1 and s.heading != INTRO]
            if len(top) < 4:  # a policy with one or two big sections: use the next level down
                top = [s for s in sections if s.level == 2] or top
            intro_sec = next((s for s in sections if s.heading == INTRO), None)
            if intro_sec and not intro:
                first_block = min((s.start for s in top), default=intro_sec.end)
                intro = doc.text[intro_sec.start:min(intro_sec.end, first_block)]
            for s in top:
                text = doc.text[s.start:s.end]
                head, _, body = text.partition("\n")
                if len(body.strip()) < 80:
                    continue
                blocks.append(Block(doc.policy_id, s.heading, body.strip("\n")))
        out.append(Donor(doc.policy_id, _strip_intro(intro), blocks))
    return out


def _strip_intro(intro: str) -> str:
    """An intro without its own title/markdown headings/date lines (the synthetic header has those)."""
    keep = []
    for line in intro.splitlines():
        s = line.strip()
        if re.match(r"^#{1,6}\s", s) or re.search(r"(?i)privacy (policy|notice)$", s) or \
                re.search(r"(?i)(last updated|effective)", s) and len(s) < 80:
            continue
        keep.append(line)
    text = "\n".join(keep).strip()
    return text


# --- names -------------------------------------------------------------------------------------
def company_names(n: int, rng: random.Random, avoid_tokens: set[str]) -> list[str]:
    """n distinct invented company names that no gold-question word resembles (routing stays put)."""
    taken = set(ORIGINAL_IDS)
    names: list[str] = []
    while len(names) < n:
        name = rng.choice(SYLLABLES_A) + rng.choice(SYLLABLES_B) + rng.choice(SYLLABLES_C)
        slug = name.lower()
        if slug in taken or not 5 <= len(slug) <= 12 or BRAND_RE.search(name):
            continue
        if any(len(t) >= 5 and difflib.SequenceMatcher(None, t, slug).ratio() >= 0.8 for t in avoid_tokens):
            continue
        taken.add(slug)
        names.append(name)
    return names


def _gold_tokens() -> set[str]:
    tokens = set()
    for row in read_gold():
        for t in row["question"].lower().split():
            tokens.add(t.strip(".,!?;:'\"()’"))
    return tokens


def rebrand(text: str, company: str, domain: str) -> str:
    """Brand words, e-mails and brand domains → the company's."""
    text = EMAIL_RE.sub(lambda m: f"{m.group(1)}@{domain}", text)

    def brand(m: re.Match) -> str:
        word = m.group(0)
        canon = next((a for a in AFFILIATES if a.lower() == word.lower()), None)
        name = company + AFFILIATES[canon] if canon else company
        if word.isupper():
            return name.upper()
        if word.islower():
            return name.lower()
        return name

    return BRAND_RE.sub(brand, text)


def heading_title(title: str) -> str:
    t = HEADING_PREFIX_RE.sub("", title).strip(" *:.")
    return t or title


# --- composing -----------------------------------------------------------------------------------
def compose(company: str, domain: str, pool: list[Donor], rng: random.Random,
            min_sections: int, max_sections: int) -> str:
    primary = rng.choice(pool)
    others = [d for d in pool if d is not primary]
    k = rng.randint(min_sections, max_sections)
    # Mostly the primary donor's sections (a subset, order lightly shuffled), plus a few borrowed.
    own = rng.sample(primary.blocks, min(len(primary.blocks), max(1, round(k * 0.7))))
    borrowed = [rng.choice(rng.choice(others).blocks) for _ in range(k - len(own))]
    chosen = own + borrowed
    order = list(range(len(chosen)))
    for _ in range(len(order) // 3):
        i, j = rng.randrange(len(order)), rng.randrange(len(order))
        order[i], order[j] = order[j], order[i]
    numbered = rng.random() < 0.5
    date = f"{rng.choice(MONTHS)} {rng.randint(1, 28):02d}, {rng.randint(2018, 2024)}"
    parts = [f"{company} Privacy Policy", f"Last updated: {date}"]
    if primary.intro:
        parts.append(primary.intro)
    seen_titles = set()
    for idx in order:
        block = chosen[idx]
        title = heading_title(block.title)
        if title.lower() in seen_titles:
            continue
        seen_titles.add(title.lower())
        parts.append(f"## {len(seen_titles)}. {title}" if numbered else f"## {title}")
        parts.append(block.body)
    return rebrand("\n\n".join(parts) + "\n", company, domain)


def write_corpus(out: Path, policies: int = 300, seed: int = 7, originals: bool = True,
                 min_sections: int = 3, max_sections: int = 6) -> list[Path]:
    """Write the corpus (replacing the folder) and return the files written."""
    rng = random.Random(seed)
    pool = [d for d in donors() if d.blocks]
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = []
    if originals:
        for path in sorted(bundled_corpus().glob("*.txt")):
            target = out / path.name
            shutil.copyfile(path, target)
            written.append(target)
    n_synth = max(0, policies - len(written))
    for name in company_names(n_synth, rng, _gold_tokens()):
        domain = f"{name.lower()}.{rng.choice(TLDS)}"
        text = compose(name, domain, pool, rng, min_sections, max_sections)
        target = out / f"{name.lower()}.txt"
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policies", "-n", type=int, default=300, help="policies in the corpus (default 300)")
    ap.add_argument("--out", type=Path, default=DEFAULT_CORPUS300, help=f"folder (default {DEFAULT_CORPUS300})")
    ap.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    ap.add_argument("--no-originals", action="store_true", help="leave the five bundled policies out")
    ap.add_argument("--min-sections", type=int, default=3, help="sections per synthetic policy, at least (3)")
    ap.add_argument("--max-sections", type=int, default=6, help="sections per synthetic policy, at most (6)")
    args = ap.parse_args(argv)
    files = write_corpus(args.out, args.policies, args.seed, not args.no_originals,
                         args.min_sections, args.max_sections)
    sizes = [len(p.read_text(encoding="utf-8")) for p in files]
    synth = [len(p.read_text(encoding="utf-8")) for p in files if p.stem not in ORIGINAL_IDS]
    print(f"wrote {len(files)} policies to {args.out}: {sum(sizes):,} characters "
          f"(synthetic: {len(synth)}, mean {sum(synth) / max(1, len(synth)):,.0f} chars, "
          f"min {min(synth, default=0):,}, max {max(synth, default=0):,})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

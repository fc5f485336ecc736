"""Every knob of a PolicyChat process in one validated, frozen record.

``Settings.from_env(os.environ, db=..., port=...)`` reads the POLICYCHAT_* variables (and the
few a provider names: CHROMA_HOST, OPENAI_BASE_URL, OLLAMA_HOST), lets command-line flags
override them, and checks every value, so that a mistake is one clear ``SettingError`` before
any work starts. The record is then handed down (context, assistant, ranker, server); nothing
else reads the environment for a setting. Each field's metadata names its unit and where its
value comes from (``env``: the variable; ``source``: who chose the default).
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from index.errors import SettingError

DEFAULT_MAX_TOKENS = 200               # tokens per chunk (index/chunk.py)
MAX_QUESTION_CHARS = 2000              # characters in a question
EMBED_PRECISIONS = ("auto", "fp32", "bf16")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_RATE_LIMIT = "30/60"           # 30 questions per 60 seconds per client, bursts up to 30
DEFAULT_LLM_TIMEOUT = 20.0             # seconds
TRUE_WORDS = ("1", "true", "yes", "on")
FITTED = "fit by eval.train_ranker, stored in assistant/models/ranker.json; None = the fitted value"
ABLATED = "kept while it pays in the ablation table of docs/quality.md (python -m eval.ablate)"


def knob(default, unit: str, source: str, env: str | None = None, *, factory=None,
         bounds: tuple[float, float] = (1, math.inf)):
    """A settings field whose metadata says its unit and where its value comes from (and, for
    an answering knob, the ``bounds`` it must lie in)."""
    meta = {"unit": unit, "source": source, "env": env, "bounds": bounds}
    return field(default_factory=factory, metadata=meta) if factory else field(default=default, metadata=meta)


@dataclass(frozen=True)
class AnswerSettings:
    """How the assistant retrieves, ranks and quotes: the answering knobs, hand-set unless
    their source says otherwise (none of them is read from the environment)."""

    # retrieval (assistant/retrieve.py)
    fused_candidates: int = knob(30, "chunks", "hand-set: each of the dense and BM25 lists fused")
    rrf_k: int = knob(60, "ranks added to each rank in reciprocal rank fusion", "Cormack, Clarke & "
                      "Büttcher (2009); the ranker's chunk_rrf feature was fit with it")
    overfetch: int = knob(4, "x k", "hand-set: rows asked of an unfiltered dense query per hit wanted")
    refresh_seconds: float = knob(5.0, "seconds", "hand-set: how often a reader looks for a new index",
                                  bounds=(0, math.inf))
    # questions that are not answered (assistant/language.py) and two-part questions (assistant/question.py)
    english_min_p: float = knob(0.12, "probability of English", "the P_EN_MIN sweep on the dev half of "
                                "bench/data/language_questions.jsonl (bench/language_bench.py): every value "
                                "in 0.08-0.40 is error-free; the low end, as a wrongly refused English "
                                "question costs more than a foreign one answered", bounds=(0, 1))
    english_min_p_short: float = knob(0.01, "probability of English", "hand-set: a question shorter than "
                                      "english_min_words is refused only when nearly certain", bounds=(0, 1))
    english_min_words: int = knob(3, "words", "hand-set: from this length english_min_p applies")
    non_latin_share: float = knob(0.5, "share of letters", "hand-set: from this share of letters outside "
                                  "the Latin script a question is not English", bounds=(0, 1))
    min_part_words: int = knob(3, "words", "hand-set: a two-part question is split only if each part has as many")
    # candidates for the ranker (assistant/pipeline.py)
    chunks_per_search: int = knob(6, "chunks", "hand-set: chunk hits whose units are ranked, per policy")
    candidates: int = knob(40, "units", "hand-set: nearest units ranked per policy besides the hits' own")
    cross_policies: int = knob(5, "policies", "hand-set: policies a question naming none is asked of")
    cross_units: int = knob(2, "passages", "hand-set: passages cited per policy in a cross-policy answer")
    # the ranker's decisions (assistant/ranker.py Thresholds)
    abstain_below: float | None = knob(None, "probability", FITTED, bounds=(0, 1))
    cite_above: float | None = knob(None, "probability", FITTED, bounds=(0, 1))
    cite_ratio: float | None = knob(None, "share of the best passage's probability", FITTED, bounds=(0, 1))
    max_units: int | None = knob(None, "passages per policy", FITTED)
    max_chars: int | None = knob(None, "characters per policy", FITTED)
    # context steps after ranking (assistant/evidence.py), each switched off in turn by eval.ablate
    question_parts: bool = knob(False, "switch", ABLATED)  # a two-part question: the best passage of each part
    antecedents: bool = knob(True, "switch", ABLATED)      # "These cookies …" brings the sentence it points to
    list_intros: bool = knob(True, "switch", ABLATED)      # a list intro is replaced by (or joined with) its items
    require_named: bool = knob(False, "switch", ABLATED)   # "do you use Stripe?": only passages naming Stripe
    spelling: bool = knob(True, "switch", ABLATED)         # "kepe my datta" read as "keep my data" (assistant/spelling.py)
    list_items: int = knob(8, "items", "hand-set: items cited in place of the intro announcing them")
    list_item_ratio: float = knob(0.5, "share of the likeliest item's probability", "the sweep on gold dev and "
                                  "the dev paraphrases (docs/quality.md): 0.1-0.9 score alike, 0.5 is the "
                                  "middle; an item comes with its intro when the ranker rates it at least this "
                                  "share of the list's likeliest item", bounds=(0, 1))
    following_chunks: int = knob(2, "chunks", "hand-set: how far a list may run on past its intro's chunk")
    stating_intro_words: int = knob(8, "words", "hand-set: an intro this long states something and stays")
    # quoting (assistant/answer.py)
    max_quote_chars: int = knob(600, "characters", "hand-set: adjacent sentences merged into one quote")
    max_quote_units: int = knob(3, "sentences", "hand-set: adjacent sentences merged into one quote")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or value is None:
                continue
            low, high = f.metadata["bounds"]
            if not low <= value <= high:
                span = f"at least {low}" if high == math.inf else f"between {low} and {high}"
                raise SettingError(f"{f.name} must be {span}, not {value!r}")

    def threshold_overrides(self) -> dict:
        """The ranker thresholds set here (the rest keep their fitted values)."""
        names = ("abstain_below", "cite_above", "cite_ratio", "max_units", "max_chars")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def default_db_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME/policychat, else ~/.local/share/policychat."""
    base = (environ or {}).get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "policychat"


@dataclass(frozen=True)
class Settings:
    """One process's configuration. ``Settings()`` is every default without the environment."""

    # the index
    db_dir: Path = knob(None, "directory", "--db, else POLICYCHAT_DB, else $XDG_DATA_HOME/policychat",
                        "POLICYCHAT_DB", factory=default_db_dir)
    chroma_url: str | None = knob(None, "http(s) URL; None = the embedded store in db_dir",
                                  "--chroma-url, else CHROMA_HOST/CHROMA_PORT", "CHROMA_HOST")
    max_tokens: int = knob(DEFAULT_MAX_TOKENS, "tokens per chunk", "hand-set (docs/quality.md)",
                           "POLICYCHAT_MAX_TOKENS")
    embed_precision: str = knob("auto", "auto | fp32 | bf16", "auto = bf16 on CPUs with AMX "
                                "(docs/performance.md)", "POLICYCHAT_EMBED_PRECISION")
    embed_model: str | None = knob(None, "a sentence-transformers model directory; None = the "
                                   "bundled all-MiniLM-L6-v2", "operator", "POLICYCHAT_EMBED_MODEL")
    # generative answers (assistant/generate.py)
    llm_provider: str | None = knob(None, "a registered provider; None = extractive answers",
                                    "POLICYCHAT_LLM=PROVIDER:MODEL", "POLICYCHAT_LLM")
    llm_model: str | None = knob(None, "model name; None = the provider's default",
                                 "POLICYCHAT_LLM=PROVIDER:MODEL", "POLICYCHAT_LLM")
    llm_timeout: float = knob(DEFAULT_LLM_TIMEOUT, "seconds before the extractive answer is used",
                              "hand-set", "POLICYCHAT_LLM_TIMEOUT")
    openai_base_url: str | None = knob(None, "URL", "operator", "OPENAI_BASE_URL")
    ollama_host: str | None = knob(None, "URL", "operator", "OLLAMA_HOST")
    # the server (ui/server.py, ui/security.py)
    host: str = knob("127.0.0.1", "interface", "--host, else POLICYCHAT_HOST", "POLICYCHAT_HOST")
    port: int = knob(7860, "TCP port", "--port, else POLICYCHAT_PORT", "POLICYCHAT_PORT")
    workers: int = knob(1, "processes", "--workers")
    log_level: str = knob("INFO", "logging level name", "operator", "POLICYCHAT_LOG_LEVEL")
    allowed_origins: tuple[str, ...] = knob((), "origins; '*' = anyone", "operator",
                                            "POLICYCHAT_ALLOWED_ORIGINS")
    rate_capacity: int = knob(30, "questions per client per period (burst); 0 = no limit", "operator",
                              "POLICYCHAT_RATE_LIMIT")
    rate_period: float = knob(60.0, "seconds to refill a whole bucket", "operator", "POLICYCHAT_RATE_LIMIT")
    max_question_chars: int = knob(MAX_QUESTION_CHARS, "characters", "hand-set")
    max_body_bytes: int = knob(64 * 1024, "bytes (an ask body is a question of at most 2000 characters)",
                               "operator", "POLICYCHAT_MAX_BODY_BYTES")
    frame_ancestors: tuple[str, ...] = knob((), "origins that may frame the chat; () = nobody", "operator",
                                            "POLICYCHAT_FRAME_ANCESTORS")
    feedback_db: str | None = knob(None, "path of the feedback SQLite file; None = beside the index",
                                   "operator", "POLICYCHAT_FEEDBACK_DB")
    feedback_keep_text: bool = knob(False, "switch: store question text, not only its hash", "operator",
                                    "POLICYCHAT_FEEDBACK_KEEP_TEXT")
    debug: bool = knob(False, "switch: the CLI shows tracebacks", "operator", "POLICYCHAT_DEBUG")
    # how questions are answered
    answer: AnswerSettings = field(default_factory=AnswerSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, db: str | os.PathLike | None = None,
                 chroma_url: str | None = None, host: str | None = None, port: int | None = None,
                 workers: int | None = None, answer: AnswerSettings | None = None) -> "Settings":
        """The settings from ``environ`` (default: os.environ), each flag given (not None)
        overriding its variable; a SettingError names the first value that cannot be used."""
        env = os.environ if environ is None else environ
        db_value = db or env.get("POLICYCHAT_DB")
        provider, model = parse_llm(env.get("POLICYCHAT_LLM", ""))
        capacity, period = parse_rate_limit(env.get("POLICYCHAT_RATE_LIMIT", DEFAULT_RATE_LIMIT))
        return cls(
            db_dir=Path(db_value).expanduser() if db_value else default_db_dir(env),
            chroma_url=chroma_url or chroma_from_env(env),
            max_tokens=number(env, "POLICYCHAT_MAX_TOKENS", DEFAULT_MAX_TOKENS, int, minimum=16),
            embed_precision=parse_precision(env.get("POLICYCHAT_EMBED_PRECISION")),
            embed_model=env.get("POLICYCHAT_EMBED_MODEL") or None,
            llm_provider=provider, llm_model=model,
            llm_timeout=number(env, "POLICYCHAT_LLM_TIMEOUT", DEFAULT_LLM_TIMEOUT, float, minimum=0.1),
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            ollama_host=env.get("OLLAMA_HOST") or None,
            host=host or env.get("POLICYCHAT_HOST") or "127.0.0.1",
            port=checked(port, "--port", 0, 65535) if port is not None
            else number(env, "POLICYCHAT_PORT", 7860, int, minimum=0, maximum=65535),
            workers=checked(workers, "--workers", 1) if workers is not None else 1,
            log_level=parse_log_level(env.get("POLICYCHAT_LOG_LEVEL", "")),
            allowed_origins=parse_origins(env.get("POLICYCHAT_ALLOWED_ORIGINS", "")),
            rate_capacity=capacity, rate_period=period,
            max_body_bytes=number(env, "POLICYCHAT_MAX_BODY_BYTES", 64 * 1024, int, minimum=1024),
            frame_ancestors=parse_origins(env.get("POLICYCHAT_FRAME_ANCESTORS", ""), "POLICYCHAT_FRAME_ANCESTORS"),
            feedback_db=env.get("POLICYCHAT_FEEDBACK_DB") or None,
            feedback_keep_text=env.get("POLICYCHAT_FEEDBACK_KEEP_TEXT", "").strip().lower() in TRUE_WORDS,
            debug=bool(env.get("POLICYCHAT_DEBUG")),
            answer=answer or AnswerSettings(),
        )

    def with_answer(self, **changes) -> "Settings":
        """These settings with some answering knobs changed (eval.ablate, threshold sweeps)."""
        return replace(self, answer=replace(self.answer, **changes))


# --- parsers: each turns one variable into a value or a SettingError naming it -------------------
def number(env: Mapping[str, str], name: str, default: float, kind: type = float,
           minimum: float | None = None, maximum: float | None = None):
    """$NAME as an int or float (``kind``), ``default`` when unset or blank."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingError(f"{name} must be {'a whole number' if kind is int else 'a number'}, "
                           f"not {raw!r}") from None
    if minimum is not None and not value >= minimum:
        raise SettingError(f"{name} must be at least {minimum}, not {raw!r}")
    if maximum is not None and not value <= maximum:
        raise SettingError(f"{name} must be at most {maximum}, not {raw!r}")
    return value


def checked(value: int, flag: str, minimum: int, maximum: int | None = None) -> int:
    """A numeric flag within its range."""
    if value < minimum:
        raise SettingError(f"{flag} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise SettingError(f"{flag} must be at most {maximum}")
    return value


def chroma_from_env(env: Mapping[str, str]) -> str | None:
    """An http(s) URL of a Chroma server from CHROMA_HOST/CHROMA_PORT; None = embedded."""
    host = env.get("CHROMA_HOST")
    if not host:
        return None
    return host if host.startswith("http") else f"http://{host}:{env.get('CHROMA_PORT', '8000')}"


def parse_precision(value: str | None) -> str:
    """"auto", "fp32" or "bf16" (any case); unset = "auto"."""
    text = (value or "auto").strip().lower()
    if text not in EMBED_PRECISIONS:
        raise SettingError(f"POLICYCHAT_EMBED_PRECISION must be one of {', '.join(EMBED_PRECISIONS)}, "
                           f"not {text!r}")
    return text


def parse_llm(spec: str) -> tuple[str | None, str | None]:
    """'openai:gpt-4o-mini' → ("openai", "gpt-4o-mini"); 'ollama' → ("ollama", None); blank →
    (None, None). Whether the provider exists is the registry's call (assistant/generate.py)."""
    text = spec.strip()
    if not text:
        return None, None
    provider, _, model = text.partition(":")
    if not provider.strip() or not provider.replace("-", "").replace("_", "").isalnum():
        raise SettingError(f"POLICYCHAT_LLM must be PROVIDER:MODEL (e.g. openai:gpt-4o-mini), not {spec!r}")
    return provider.strip(), model.strip() or None


def parse_log_level(value: str) -> str:
    text = value.strip().upper() or "INFO"
    if text not in LOG_LEVELS:
        raise SettingError(f"POLICYCHAT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return text


def parse_rate_limit(value: str) -> tuple[int, float]:
    """'30/60' → (30, 60.0): 30 requests per 60 s; '0' or 'off' → (0, 60.0) (no limit)."""
    text = value.strip().lower()
    if text in ("0", "off", "none", "false", ""):
        return 0, 60.0
    try:
        count, _, seconds = text.partition("/")
        capacity, period = int(count), float(seconds or 60)
        if capacity < 0 or period <= 0 or not math.isfinite(period):
            raise ValueError
    except ValueError:
        raise SettingError(f"POLICYCHAT_RATE_LIMIT must look like '30/60' (requests/seconds) or 'off', "
                           f"not {value!r}") from None
    return capacity, period


def parse_origins(value: str, name: str = "POLICYCHAT_ALLOWED_ORIGINS") -> tuple[str, ...]:
    """Comma-separated origins ('https://shop.example, http://localhost:8080') or '*'."""
    out = []
    for item in value.split(","):
        item = item.strip().rstrip("/")
        if not item:
            continue
        if item == "*":
            out.append(item)
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise SettingError(f"{name}: {item!r} is not an origin like https://shop.example")
        out.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(dict.fromkeys(out))

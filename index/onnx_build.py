"""The ONNX graph of a BERT sentence-transformers model, written straight from its weights.

Tracing the model with torch.onnx needs torch and sentence-transformers loaded (~7 s) and costs
~4 s more (tracing, the onnx import, onnxruntime's graph optimisation). The graph here is
written directly in the fused operators onnxruntime's CPU provider runs a BERT layer with
(domain com.microsoft: EmbedLayerNormalization, Attention, BiasGelu with BERT's exact erf GELU;
plain MatMul, Add, LayerNormalization), so it needs no optimisation pass, and serialised by
index/onnx_proto.py: 0.3 s in all. It gives the traced model's ``hidden`` output (the last
hidden state) to within float32 rounding (tests/test_onnx_embed.py).

Only what all-MiniLM-L6-v2 is, is built: modules Transformer → mean Pooling → Normalize over a
``BertModel`` with absolute positions and GELU. Anything else raises ``Unsupported`` and keeps
the traced export (index/onnx_embed.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MS = "com.microsoft"
OPSET = 17
MODULES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
           "sentence_transformers.models.Normalize"]


class Unsupported(ValueError):
    """A model this builder does not write (another architecture, pooling or activation)."""


@dataclass(frozen=True)
class BertSpec:
    """What the graph and the query embedder need to know of the model folder."""

    layers: int
    hidden: int
    heads: int
    epsilon: float
    max_seq_length: int


def read_spec(model_dir: Path) -> BertSpec:
    """The model's shape, or ``Unsupported`` when it is not a mean-pooled, normalised BERT."""
    model_dir = Path(model_dir)
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise Unsupported(f"no sentence-transformers model in {model_dir} ({exc})") from None
    kinds = [m.get("type") for m in modules]
    if kinds != MODULES:
        raise Unsupported(f"modules {kinds}, not Transformer, Pooling, Normalize")
    pooling = json.loads((model_dir / modules[1].get("path", "") / "config.json").read_text())
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    if modes != ["pooling_mode_mean_tokens"]:
        raise Unsupported(f"pooling {modes}, not the mean over tokens")
    wanted = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    for key, value in wanted.items():
        if config.get(key, value) != value:
            raise Unsupported(f"config {key}={config.get(key)!r}, not {value!r}")
    if not (model_dir / "model.safetensors").is_file() or not (model_dir / "tokenizer.json").is_file():
        raise Unsupported("no model.safetensors or tokenizer.json")
    st_config = model_dir / "sentence_bert_config.json"
    window = json.loads(st_config.read_text()).get("max_seq_length") if st_config.is_file() else None
    return BertSpec(layers=int(config["num_hidden_layers"]), hidden=int(config["hidden_size"]),
                    heads=int(config["num_attention_heads"]), epsilon=float(config.get("layer_norm_eps", 1e-12)),
                    max_seq_length=int(window or config["max_position_embeddings"]))


def build_graph(model_dir: Path, spec: BertSpec) -> list:
    """The ONNX model (``onnx_proto.model``'s parts): inputs input_ids, attention_mask,
    token_type_ids (int64, batch x tokens), output ``hidden`` (float32, batch x tokens x hidden)."""
    from safetensors.numpy import load_file

    from index import onnx_proto as proto

    weights = load_file(str(Path(model_dir) / "model.safetensors"))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    def w(name: str) -> np.ndarray:
        try:
            return weights[prefix + name].astype(np.float32, copy=False)
        except KeyError:
            raise Unsupported(f"no tensor {prefix + name}") from None

    inits: list = []
    nodes: list = []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(proto.tensor(name, array))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        nodes.append(proto.node(op, inputs, [output], output, domain, **attrs))
        return output

    def residual_norm(value: str, bias: str, skip: str, gamma: str, beta: str, out: str) -> str:
        """LayerNorm(value + bias + skip). Plain ops: onnxruntime's fused SkipLayerNormalization
        took longer on this CPU (0.37 s against 0.09 s over 12k tokens)."""
        biased = node("Add", [value, bias], out + "_biased")
        summed = node("Add", [biased, skip], out + "_summed")
        return node("LayerNormalization", [summed, gamma, beta], out, axis=-1, epsilon=spec.epsilon)

    word = w("embeddings.word_embeddings.weight")
    if word.ndim != 2 or word.shape[1] != spec.hidden or spec.hidden % spec.heads:
        raise Unsupported(f"word embeddings {word.shape} for hidden size {spec.hidden}, {spec.heads} heads")
    for name in ("input_ids", "token_type_ids", "attention_mask"):
        node("Cast", [name], f"{name}_32", to=proto.INT32)
    emb = "embeddings."
    nodes.append(proto.node(
        "EmbedLayerNormalization",
        ["input_ids_32", "token_type_ids_32", const("word", word),
         const("position", w(emb + "position_embeddings.weight")),
         const("token_type", w(emb + "token_type_embeddings.weight")),
         const("embed_gamma", w(emb + "LayerNorm.weight")), const("embed_beta", w(emb + "LayerNorm.bias"))],
        ["layer0_in", "mask_sum"], "embeddings", MS, epsilon=spec.epsilon))
    x = "layer0_in"
    for i in range(spec.layers):
        p, n = f"encoder.layer.{i}.", f"l{i}_"
        qkv = [w(p + f"attention.self.{k}.weight").T for k in ("query", "key", "value")]
        qkv_bias = np.concatenate([w(p + f"attention.self.{k}.bias") for k in ("query", "key", "value")])
        # the raw 0/1 mask (batch x tokens), as BERT's extended attention mask uses it
        attended = node("Attention", [x, const(n + "qkv", np.concatenate(qkv, axis=1)), const(n + "qkv_b", qkv_bias),
                                      "attention_mask_32"], n + "attention", MS, num_heads=spec.heads)
        projected = node("MatMul", [attended, const(n + "o", w(p + "attention.output.dense.weight").T)], n + "o_out")
        normed = residual_norm(projected, const(n + "o_b", w(p + "attention.output.dense.bias")), x,
                               const(n + "ln1_g", w(p + "attention.output.LayerNorm.weight")),
                               const(n + "ln1_b", w(p + "attention.output.LayerNorm.bias")), n + "ln1")
        up = node("MatMul", [normed, const(n + "up", w(p + "intermediate.dense.weight").T)], n + "up_out")
        gelu = node("BiasGelu", [up, const(n + "up_b", w(p + "intermediate.dense.bias"))], n + "gelu", MS)
        down = node("MatMul", [gelu, const(n + "down", w(p + "output.dense.weight").T)], n + "down_out")
        x = residual_norm(down, const(n + "down_b", w(p + "output.dense.bias")), normed,
                          const(n + "ln2_g", w(p + "output.LayerNorm.weight")),
                          const(n + "ln2_b", w(p + "output.LayerNorm.bias")),
                          "hidden" if i == spec.layers - 1 else f"layer{i + 1}_in")

    axes = ["batch", "tokens"]
    inputs = [proto.value_info(name, proto.INT64, axes) for name in ("input_ids", "attention_mask", "token_type_ids")]
    output = proto.value_info("hidden", proto.FLOAT, axes + [spec.hidden])
    return proto.model(nodes, inits, inputs, [output], "sentence_encoder", "policychat.index.onnx_build",
                       {"": OPSET, MS: 1})

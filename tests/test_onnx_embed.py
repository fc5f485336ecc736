"""The ONNX model indexing and questions run on: built from the weights (index/onnx_build.py)
or traced with torch.onnx, it embeds like sentence-transformers; indexing in float32 never
needs sentence-transformers, bfloat16 and unknown models do."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.embed import default_model_name, default_model_path
from index import onnx_proto as proto
from index.onnx_build import Unsupported, read_spec
from index.onnx_embed import SPEC, BulkEmbedder, OnnxEmbedder, build, ensure_export, export, export_dir

NAME = default_model_name()
VARIED = ["who receives my payment data?", "", "a", "How long do you keep my data?",
          "We share your credit card details with Stripe. " * 60,          # past the 256-token window
          "Ünïcödé, accents — and 日本語のテキスト 🙂", "GDPR/CCPA: opt-out (§1798.120)",
          "  leading and trailing spaces  ", "e-mail: service@podpartner.com; tel. +1 (555) 010-0199",
          "Σας ενημερώνουμε για τα δεδομένα σας. Wir löschen Ihre Daten nach 30 Tagen.",
          "(a) cookies; (b) web beacons; (c) pixel tags " * 9]            # ~250 tokens: a long pass


class Refused(Exception):
    pass


def refuse():
    raise Refused("sentence-transformers was asked for")


def assert_like_sentence_transformers(onnx: OnnxEmbedder, embedder) -> None:
    ours, theirs = onnx.embed(VARIED), embedder.embed(VARIED)   # one padded batch, longest 256 tokens
    assert ours.shape == theirs.shape == (len(VARIED), embedder.dimension)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(VARIED, cosines))
    # float32 rounding only: tanh's GELU instead of BERT's erf one moves vectors by 3e-4, cosine 0.99999
    assert np.abs(ours - theirs).max() < 1e-5
    assert onnx.token_counts(VARIED) == embedder.token_counts(VARIED)
    assert max(onnx.token_counts(VARIED)) == 256  # the long text was cut at the model's window
    alone = np.stack([onnx.embed_query(t) for t in VARIED])     # no padding: the same vectors
    assert np.abs(alone - ours).max() < 1e-5


def test_a_missing_or_damaged_export_falls_back(tmp_path):
    assert OnnxEmbedder.load(tmp_path, NAME) is None
    folder = export_dir(tmp_path, NAME)
    folder.mkdir(parents=True)
    (folder / SPEC).write_text(json.dumps({"name": NAME, "max_seq_length": 256, "dimension": 384}))
    (folder / "model.onnx").write_bytes(b"not a model")
    assert OnnxEmbedder.load(tmp_path, NAME) is None


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("built")
    build(default_model_path(), db, NAME)
    return db


def test_the_model_built_from_the_weights_embeds_like_sentence_transformers(built, embedder):
    spec = json.loads((export_dir(built, NAME) / SPEC).read_text())
    assert spec["built"] == "weights" and spec["dimension"] == 384 and spec["max_seq_length"] == 256
    onnx = OnnxEmbedder.load(built, NAME)
    assert onnx is not None
    assert_like_sentence_transformers(onnx, embedder)


def test_the_traced_export_still_embeds_like_sentence_transformers(tmp_path, embedder):
    export(embedder, tmp_path, NAME)  # the path for models the builder does not know
    assert json.loads((export_dir(tmp_path, NAME) / SPEC).read_text())["built"] == "torch.onnx"
    assert_like_sentence_transformers(OnnxEmbedder.load(tmp_path, NAME), embedder)


def test_float32_indexing_builds_the_model_without_sentence_transformers(tmp_path):
    bulk = BulkEmbedder(refuse, tmp_path, NAME, default_model_path(), precision="fp32")
    vectors = bulk.embed(VARIED[:3])
    assert isinstance(bulk.model, OnnxEmbedder) and vectors.shape == (3, bulk.dimension)
    assert bulk.token_counts(["a"]) == [3]
    # the next run (and every query process) opens the same file
    assert ensure_export(tmp_path, NAME, "/nonexistent", refuse) == export_dir(tmp_path, NAME)


def test_bfloat16_indexing_keeps_sentence_transformers(tmp_path):
    model = object()
    assert BulkEmbedder(lambda: model, tmp_path, NAME, default_model_path(), precision="bf16").model is model
    assert not export_dir(tmp_path, NAME).exists()


def model_copy(tmp_path: Path, edit) -> Path:
    """The bundled model's small files (the weights linked), with ``edit(folder)`` applied."""
    source = Path(default_model_path())
    folder = tmp_path / "model"
    shutil.copytree(source, folder, ignore=lambda _d, names: [n for n in names if n == "model.safetensors"])
    (folder / "model.safetensors").symlink_to(source / "model.safetensors")
    edit(folder)
    return folder


def edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.mark.parametrize("edit, why", [
    (lambda f: edit_json(f / "config.json", model_type="roberta"), "model_type"),
    (lambda f: edit_json(f / "config.json", hidden_act="gelu_new"), "hidden_act"),
    (lambda f: edit_json(f / "config.json", position_embedding_type="relative_key"), "position_embedding_type"),
    (lambda f: edit_json(f / "1_Pooling" / "config.json", pooling_mode_mean_tokens=False,
                         pooling_mode_cls_token=True), "pooling"),
    (lambda f: (f / "modules.json").write_text(json.dumps(json.loads((f / "modules.json").read_text())[:2])),
     "modules"),
    (lambda f: (f / "tokenizer.json").unlink(), "tokenizer.json"),
])
def test_models_the_builder_does_not_know_are_refused_and_traced_instead(tmp_path, caplog, edit, why):
    folder = model_copy(tmp_path, edit)
    with pytest.raises(Unsupported, match=why):
        read_spec(folder)
    with caplog.at_level(logging.INFO, "policychat.index"), pytest.raises(Refused):
        ensure_export(tmp_path / "db", NAME, str(folder), refuse)  # asks for the model to trace it
    assert "exporting the embedding model with torch.onnx" in caplog.text and why in caplog.text
    assert not (tmp_path / "db" / "model").exists() or not any((tmp_path / "db" / "model").iterdir())


def test_the_unedited_copy_is_built(tmp_path):
    """The refusals above are the edits', not the copy's."""
    spec = read_spec(model_copy(tmp_path, lambda f: None))
    assert (spec.layers, spec.hidden, spec.heads, spec.max_seq_length) == (6, 384, 12, 256)


def test_a_model_that_cannot_be_exported_indexes_with_sentence_transformers(tmp_path, caplog):
    folder = model_copy(tmp_path, lambda f: edit_json(f / "config.json", model_type="roberta"))

    class NotExportable:
        model = []  # no Transformer, Pooling, Normalize modules: torch.onnx is not tried

    model = NotExportable()
    with caplog.at_level(logging.INFO, "policychat.index"):
        bulk = BulkEmbedder(lambda: model, tmp_path / "db", NAME, str(folder), precision="fp32")
        assert bulk.model is model
    assert "indexing with sentence-transformers" in caplog.text


def test_the_hand_written_protobuf_reads_back_as_what_onnx_helper_makes():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3).T, "i": np.array([-1, 2**40], np.int64),
              "j": np.array([[7]], np.int32)}
    ours = proto.model([proto.node("LayerNormalization", ["x", "w"], ["y"], "norm", epsilon=1e-12, axis=-1),
                        proto.node("Attention", ["y", "i"], ["z", "m"], "att", "com.microsoft", num_heads=12)],
                       [proto.tensor(k, v) for k, v in arrays.items()],
                       [proto.value_info("x", proto.INT64, ["batch", 3])],
                       [proto.value_info("z", proto.FLOAT, ["batch", "tokens", 384])], "g", "p", {"": 17, "com.microsoft": 1})
    theirs = helper.make_model(
        helper.make_graph([helper.make_node("LayerNormalization", ["x", "w"], ["y"], "norm", epsilon=1e-12, axis=-1),
                           helper.make_node("Attention", ["y", "i"], ["z", "m"], "att", domain="com.microsoft",
                                            num_heads=12)],
                          "g", [helper.make_tensor_value_info("x", TensorProto.INT64, ["batch", 3])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", "tokens", 384])],
                          [numpy_helper.from_array(np.ascontiguousarray(v), k) for k, v in arrays.items()]),
        producer_name="p", ir_version=proto.IR_VERSION,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    assert onnx.ModelProto.FromString(b"".join(bytes(p) for p in ours)) == theirs


def test_the_built_model_file_parses_as_onnx(built):
    import onnx

    model = onnx.load(str(export_dir(built, NAME) / "model.onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Attention") == ops.count("BiasGelu") == 6 and ops.count("LayerNormalization") == 12
    known = {i.name for i in model.graph.input} | {t.name for t in model.graph.initializer}
    for n in model.graph.node:   # every input is defined before it is used
        assert set(n.input) <= known, n.name
        known |= set(n.output)
    assert [o.name for o in model.graph.output] == ["hidden"] and "hidden" in known

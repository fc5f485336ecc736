"""The few ONNX protobuf messages a feed-forward graph needs, serialised by hand.

``import onnx`` costs an index run 0.8 s (its dtype tables import ml_dtypes), more than writing
the whole model; the wire format of the messages used here is small: varints and
length-delimited fields (https://protobuf.dev/programming-guides/encoding/), field numbers from
onnx/onnx.proto. tests/test_onnx_embed.py parses the result with the onnx package and compares
it with the same graph made by ``onnx.helper``.
"""
from __future__ import annotations

import struct

import numpy as np

IR_VERSION = 8  # ONNX 1.10+: opset 17 and com.microsoft ops load in onnxruntime ≥ 1.12
# TensorProto.DataType
FLOAT, INT32, INT64 = 1, 6, 7
_DTYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.int32): INT32, np.dtype(np.int64): INT64}
# AttributeProto.AttributeType
_ATTR_FLOAT, _ATTR_INT = 1, 2


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64: ten bytes of two's complement, as protobuf does
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


Parts = list  # of bytes and memoryviews: a message is written without joining its tensors' data


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _message(field: int, parts: Parts) -> Parts:
    """An embedded message (length-delimited field) made of ``parts``."""
    return [_varint(field << 3 | 2) + _varint(sum(len(p) for p in parts)), *parts]


def _attribute(name: str, value: int | float) -> bytes:
    if isinstance(value, float):
        return _bytes(1, name) + _varint(2 << 3 | 5) + struct.pack("<f", value) + _int(20, _ATTR_FLOAT)
    return _bytes(1, name) + _int(3, int(value)) + _int(20, _ATTR_INT)


def node(op_type: str, inputs: list[str], outputs: list[str], name: str, domain: str = "", **attrs) -> Parts:
    """A NodeProto; attributes are ints or floats (in name order, as onnx.helper writes them)."""
    return [*(_bytes(1, i) for i in inputs), *(_bytes(2, o) for o in outputs), _bytes(3, name),
            _bytes(4, op_type), *(_bytes(5, _attribute(k, v)) for k, v in sorted(attrs.items())),
            _bytes(7, domain) if domain else b""]


def tensor(name: str, array: np.ndarray) -> Parts:
    """A TensorProto holding ``array`` (float32, int32 or int64) as little-endian raw data."""
    code = _DTYPES[np.dtype(array.dtype)]
    raw = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"), copy=False))
    data = memoryview(raw).cast("B")
    return [*(_int(1, d) for d in array.shape), _int(2, code), _bytes(8, name),
            _varint(9 << 3 | 2) + _varint(len(data)), data]


def value_info(name: str, elem_type: int, shape: list[int | str]) -> Parts:
    """A ValueInfoProto of a tensor; a str in ``shape`` is a named (dynamic) axis."""
    dims = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in shape)
    tensor_type = _int(1, elem_type) + _bytes(2, dims)
    return [_bytes(1, name), _bytes(2, _bytes(1, tensor_type))]


def model(nodes: list[Parts], initializers: list[Parts], inputs: list[Parts], outputs: list[Parts],
          graph_name: str, producer: str, opsets: dict[str, int]) -> Parts:
    """A ModelProto (what ``onnx.save`` writes), in parts: ``b"".join`` them, or ``write`` them."""
    graph = [*(p for n in nodes for p in _message(1, n)), _bytes(2, graph_name),
             *(p for t in initializers for p in _message(5, t)),
             *(p for i in inputs for p in _message(11, i)), *(p for o in outputs for p in _message(12, o))]
    imports = [_bytes(8, _bytes(1, domain) + _int(2, version)) for domain, version in opsets.items()]
    return [_int(1, IR_VERSION), _bytes(2, producer), *_message(7, graph), *imports]


def write(path, parts: Parts) -> None:
    with open(path, "wb") as out:
        out.writelines(parts)

"""Scoring every stored int8 vector against a query with ONNX Runtime's integer matrix product.

numpy has no integer BLAS: scoring int8 codes there means converting them to float32 a chunk at a time, 8-10 ms for
100k × 384 on one core of the benchmark machine. ONNX Runtime's `MatMulInteger` (uint8 × int8 -> int32, already a
dependency: it runs the embedding model) reads the codes as they are, with the CPU's int8 dot-product instructions:
about 2 ms for the same 100k rows on one thread, limited by memory bandwidth.

Its fast path wants the query as the uint8 left operand (1 × d) and the codes as the int8 right one (d × n): the
codes are kept transposed, in column blocks (search/arrays.py `Columns`). The query is quantised to int8 and shifted
by 128 into uint8, so the product holds `q·c + 128·sum(c)`; the caller subtracts `128·sum(c)`, kept per row. (The
operator's own zero-point input does the same but took three times as long.)

The one-node graph is written here as protobuf bytes (`model_bytes`), so the `onnx` package is not needed at run time.
"""

import functools
import threading
from typing import Any

import numpy as np

from agent_postmortem.store.search.pools import ForkSafePool

SHIFT = 128  # the query's int8 codes + SHIFT are its uint8 codes
_UINT8, _INT8, _INT32 = 2, 3, 6  # onnx TensorProto.DataType
IR_VERSION = 7
OPSET = 13


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | str | int) -> bytes:
    """One protobuf field: a varint (wire type 0) or a length-delimited string or message (wire type 2)."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _tensor(name: str, elem_type: int, dims: tuple[str, str]) -> bytes:
    """ValueInfoProto: a tensor with symbolic dimensions."""
    shape = b"".join(_field(1, _field(2, dim)) for dim in dims)  # TensorShapeProto.dim(dim_param)
    tensor_type = _field(1, elem_type) + _field(2, shape)  # TypeProto.Tensor
    return _field(1, name) + _field(2, _field(1, tensor_type))  # ValueInfoProto(name, TypeProto(tensor_type))


@functools.cache
def model_bytes() -> bytes:
    """ModelProto of `Y[1, n] = MatMulInteger(A[1, d] uint8, B[d, n] int8)`, Y int32."""
    node = _field(1, "A") + _field(1, "B") + _field(2, "Y") + _field(3, "scan") + _field(4, "MatMulInteger")
    graph = (
        _field(1, node)
        + _field(2, "int8_scan")
        + _field(11, _tensor("A", _UINT8, ("one", "d")))
        + _field(11, _tensor("B", _INT8, ("d", "n")))
        + _field(12, _tensor("Y", _INT32, ("one", "n")))
    )
    return _field(1, IR_VERSION) + _field(7, graph) + _field(8, _field(1, "") + _field(2, OPSET))


_session: Any = None
_loading = threading.Lock()


def _runner() -> Any:
    """One session for the process (ONNX Runtime runs are thread-safe), one thread per run: callers split the work."""
    global _session
    with _loading:
        if _session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # errors only, to stderr
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            _session = ort.InferenceSession(model_bytes(), sess_options=options, providers=["CPUExecutionProvider"])
    return _session


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and the scale of each row: row ≈ scale * codes."""
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127
    codes = np.rint(vectors / scales[:, None]).astype(np.int8)
    return codes, scales.astype(np.float32)


def quantize_query(query: np.ndarray) -> tuple[np.ndarray, float]:
    """The query's uint8 codes (int8 + SHIFT, shape 1 × d) and their scale: query ≈ scale · (codes - SHIFT)."""
    scale = max(float(np.abs(query).max()), 1e-12) / 127
    codes = np.rint(query / scale).astype(np.int16) + SHIFT
    return codes.astype(np.uint8)[None, :], scale


def products(query_codes: np.ndarray, block: np.ndarray) -> np.ndarray:
    """`query_codes · block[:, j]` for every column j, as int32: with the query shifted by SHIFT, that is the int8
    product plus `SHIFT · sum(block[:, j])`, which the caller subtracts. `block`: C-contiguous int8 (d × n), read in
    place."""
    (out,) = _runner().run(None, {"A": query_codes, "B": block})
    result: np.ndarray = out[0]
    return result


_THREADS = ForkSafePool(max_workers=2, thread_name_prefix="int8-scan")
PARALLEL_FROM = 65_536  # rows from which a scan is split over two threads


def scan(query: np.ndarray, blocks: list[np.ndarray], sums: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Every row's approximate product with `query` (float32, d): one run per column block (d × block, every block
    full but the last), the blocks split over two threads from PARALLEL_FROM rows (each run is single-threaded and
    releases the GIL). `sums`, `scales`: each row's sum of codes and scale; their length is the number of rows."""
    codes, _ = quantize_query(query)
    width = blocks[0].shape[1] if blocks else 0
    out = np.empty(len(blocks) * width, dtype=np.float32)

    def score(first: int, last: int) -> None:
        for i in range(first, last):
            out[i * width : (i + 1) * width] = products(codes, blocks[i])

    if len(sums) < PARALLEL_FROM:
        score(0, len(blocks))
    else:
        half = len(blocks) // 2
        for done in [_THREADS.submit(score, 0, half), _THREADS.submit(score, half, len(blocks))]:
            done.result()
    scores = out[: len(sums)]
    scores -= SHIFT * sums  # integers below 2**24: exact in float32
    scores *= scales
    return scores

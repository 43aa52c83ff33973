"""The compact weight container the page's models read, and the classic script that carries it.

A container is little-endian bytes:

    b"HW3W" | uint32 header length | header (UTF-8 JSON, space-padded to 4 bytes) | tensor data

The header is `{"meta": {...}, "tensors": {name: {"dtype", "shape", "offset"}}}`; offsets count from the
start of the data and are multiples of 4. A tensor is stored as "f32", "f16" or "i8". An "i8" tensor W of
shape (rows, ...) comes with the "f32" tensor `W:scale` (rows,): symmetric per-row quantization,
W[r] ≈ q[r] * scale[r], scale = max |W[r]| / 127. `unpack` decodes exactly as tensors.mjs does (fp16 and
q * scale are exact in float32 on both sides), so Python can run the very weights the browser runs.

The browser cannot fetch() local files on file://, so the container travels base64-encoded inside a
classic script (`weights_script`) that registers it on `globalThis.hw3webWeights[key]`; Node and
pages served over HTTP read the same file as text (`read_weights_script`).
"""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

import numpy as np
import torch

MAGIC = b"HW3W"
DTYPES = {"f32": np.float32, "f16": np.float16, "i8": np.int8}


def quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row: q (rows, ...) int8 and scale (rows,) float32 with w ≈ q * scale."""
    w = np.asarray(w, dtype=np.float32)
    flat = w.reshape(len(w), -1)  # (rows, cols)
    scale = (np.abs(flat).max(axis=1) / 127).astype(np.float32)  # (rows,)
    safe = np.where(scale > 0, scale, 1).astype(np.float32)
    q = np.clip(np.rint(flat / safe[:, None]), -127, 127).astype(np.int8)
    return q.reshape(w.shape), scale


def pack(tensors: dict[str, np.ndarray | torch.Tensor], dtypes: dict[str, str], meta: dict) -> bytes:
    """The container of `tensors` (float arrays) stored as `dtypes[name]` ("f32" unless named), with `meta`."""
    entries, blobs, offset = {}, [], 0

    def add(name: str, array: np.ndarray, dtype: str) -> None:
        nonlocal offset
        data = np.ascontiguousarray(array, dtype=np.dtype(DTYPES[dtype]).newbyteorder("<")).tobytes()
        entries[name] = {"dtype": dtype, "shape": list(array.shape), "offset": offset}
        data += b"\0" * (-len(data) % 4)
        blobs.append(data)
        offset += len(data)

    for name in sorted(tensors):
        value = tensors[name]
        array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        dtype = dtypes.get(name, "f32")
        if dtype == "i8":
            q, scale = quantize_rows(array)
            add(name, q, "i8")
            add(f"{name}:scale", scale, "f32")
        else:
            add(name, array.astype(np.float32), dtype)
    header = json.dumps({"meta": meta, "tensors": entries}, sort_keys=True, ensure_ascii=False,
                        separators=(",", ":")).encode()
    header += b" " * (-len(header) % 4)
    return MAGIC + struct.pack("<I", len(header)) + header + b"".join(blobs)


def unpack(blob: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """float32 tensors (int8 ones already multiplied by their scales) and the meta of a container."""
    if blob[:4] != MAGIC:
        raise ValueError("not a hw3 weight container (bad magic)")
    (size,) = struct.unpack("<I", blob[4:8])
    header = json.loads(blob[8:8 + size])
    data = memoryview(blob)[8 + size:]
    raw = {}
    for name, e in header["tensors"].items():
        dtype = np.dtype(DTYPES[e["dtype"]]).newbyteorder("<")
        count = int(np.prod(e["shape"], dtype=np.int64))
        raw[name] = np.frombuffer(data, dtype=dtype, count=count, offset=e["offset"]).reshape(e["shape"])
    out = {}
    for name, array in raw.items():
        if name.endswith(":scale"):
            continue
        if array.dtype == np.int8:
            scale = raw[f"{name}:scale"]
            out[name] = (array.astype(np.float32) * scale.reshape(-1, *[1] * (array.ndim - 1))).astype(np.float32)
        else:
            out[name] = array.astype(np.float32)
    return out, header["meta"]


def weights_script(key: str, blob: bytes) -> str:
    """A classic script registering the base64 container as `globalThis.hw3webWeights[key]`."""
    b64 = base64.b64encode(blob).decode("ascii")
    return (f"// hw3 web weights '{key}': a base64 container (see hw3/web/bundle.py), written by `hw3 export web`\n"
            f"(globalThis.hw3webWeights = globalThis.hw3webWeights || {{}})[{json.dumps(key)}] = \"{b64}\";\n")


_B64 = re.compile(r'\] = "([A-Za-z0-9+/=]*)";')


def read_weights_script(path: Path) -> bytes:
    """The container inside a file written by `weights_script`."""
    m = _B64.search(Path(path).read_text(encoding="ascii"))
    if not m:
        raise ValueError(f"{path} holds no hw3 weights")
    return base64.b64decode(m.group(1))

// Reading the weight containers written by `hw3 export web` (format: hw3/web/bundle.py).
//
// A container travels base64-encoded in a classic script, `<key>.weights.js`, which registers it on
// globalThis.hw3webWeights[key] when a page includes it (that works on file://, where fetch() and
// module imports of local files do not). Without that global, the same file is read as text:
// with node:fs in Node, with fetch() in a page served over HTTP.

export function base64Bytes(b64) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(b64);
  if (typeof Buffer !== "undefined") {
    const buf = Buffer.from(b64, "base64");
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  }
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let HALF = null;  // float16 bit pattern -> value, built once (65,536 entries)
function halfTable() {
  if (HALF) return HALF;
  HALF = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    if (exp === 0) HALF[h] = sign * frac * 2 ** -24;
    else if (exp === 31) HALF[h] = frac ? NaN : sign * Infinity;
    else HALF[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return HALF;
}

// {meta, tensors: {name: tensor}}: a tensor has `shape` and `data` (Float32Array; for an int8 tensor
// decoded on first use as q * scale, rounded to float32 as numpy does) and, if int8, `q` and `scale`
// (`rowInto` decodes one row). The data is little-endian (as every engine's typed arrays), 4-byte aligned.
export function parseContainer(input) {
  const bytes = input.byteOffset % 4 ? input.slice() : input;  // a copy starts at offset 0: aligned views
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== "HW3W") throw new Error("not a hw3 weight container");
  const size = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size)));
  const base = bytes.byteOffset + 8 + size;
  const view = (e) => {
    const n = e.shape.reduce((a, b) => a * b, 1), at = base + e.offset;
    if (e.dtype === "f32") return new Float32Array(bytes.buffer.slice(at, at + 4 * n));
    if (e.dtype === "i8") return new Int8Array(bytes.buffer, at, n);
    if (e.dtype !== "f16") throw new Error(`unknown dtype ${e.dtype}`);
    const half = halfTable(), bits = new Uint16Array(bytes.buffer, at, n), data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = half[bits[i]];
    return data;
  };
  const tensors = {};
  for (const [name, e] of Object.entries(header.tensors)) {
    if (name.endsWith(":scale")) continue;
    tensors[name] = e.dtype === "i8" ? new Int8Tensor(e.shape, view(e), view(header.tensors[`${name}:scale`]))
      : { shape: e.shape, data: view(e) };
  }
  return { meta: header.meta, tensors };
}

class Int8Tensor {
  constructor(shape, q, scale) {
    Object.assign(this, { shape, q, scale, cols: q.length / shape[0], decoded: null });
  }

  // row r decoded into out (a Float32Array of cols numbers, or longer) from position `at`
  rowInto(r, out, at = 0) {
    const s = this.scale[r], q = this.q, o = r * this.cols;
    for (let c = 0; c < this.cols; c++) out[at + c] = q[o + c] * s;
    return out;
  }

  get data() {
    if (!this.decoded) {
      this.decoded = new Float32Array(this.q.length);
      for (let r = 0; r < this.shape[0]; r++) this.rowInto(r, this.decoded, r * this.cols);
    }
    return this.decoded;
  }
}

function scriptBase64(source) {
  const m = /\] = "([A-Za-z0-9+/=]*)";/.exec(source);
  if (!m) throw new Error("no hw3 weights in this script");
  return m[1];
}

// the container `key` from the registered global, else `<dir>/<key>.weights.js` read as text
export async function readContainer(dir, key) {
  const registered = globalThis.hw3webWeights && globalThis.hw3webWeights[key];
  if (registered) return parseContainer(base64Bytes(registered));
  const file = `${key}.weights.js`;
  let source;
  if (typeof process !== "undefined" && process.versions && process.versions.node) {
    const fs = await import("node:fs/promises");
    const path = await import("node:path");
    source = await fs.readFile(path.join(String(dir), file), "utf8");
  } else {
    const response = await fetch(new URL(file, new URL(String(dir).replace(/\/?$/, "/"), document.baseURI)));
    if (!response.ok) throw new Error(`cannot load ${file}: HTTP ${response.status}`);
    source = await response.text();
  }
  return parseContainer(base64Bytes(scriptBase64(source)));
}

// matvec.wat assembled: out = W x + b in float32 with 128-bit SIMD (about ten times plain JavaScript)
const MATVEC_WASM = "AGFzbQEAAAABCgFgBn9/f39/fwADAgEABQMBAAEHEwIGbWVtb3J5AgAGbWF0dmVjAAAKzQIBygICBH8EeyAFQQJ0IQkgACEIAkADQCAGIARPDQH9DAAAAAAAAAAAAAAAAAAAAAAhCv0MAAAAAAAAAAAAAAAAAAAAACEL/QwAAAAAAAAAAAAAAAAAAAAAIQz9DAAAAAAAAAAAAAAAAAAAAAAhDUEAIQcCQANAIAcgCU8NASAKIAggB2r9AAQAIAEgB2r9AAQA/eYB/eQBIQogCyAIIAdq/QAEECABIAdq/QAEEP3mAf3kASELIAwgCCAHav0ABCAgASAHav0ABCD95gH95AEhDCANIAggB2r9AAQwIAEgB2r9AAQw/eYB/eQBIQ0gB0HAAGohBwwACwsgCiAL/eQBIAwgDf3kAf3kASEKIAMgBkECdGogAiAGQQJ0aioCACAK/R8AIAr9HwGSIAr9HwIgCv0fA5KSkjgCACAIIAlqIQggBkEBaiEGDAALCws=";

// one float32 memory for weights and scratch vectors; `matvec` runs in WebAssembly when the sizes allow
// (and the engine has SIMD), else in JavaScript. A vector is {p: byte offset, a: Float32Array view}.
export class Arena {
  // room for `floats` numbers (plus alignment), and a zero bias of `zeroRows` for products without one
  constructor(floats, useWasm = true, zeroRows = 0) {
    const bytes = 16 * Math.ceil((floats * 4 + 4 * zeroRows + 4096) / 16);
    let kernel = null;
    if (useWasm) {
      try {
        kernel = new WebAssembly.Instance(new WebAssembly.Module(base64Bytes(MATVEC_WASM))).exports;
        kernel.memory.grow(Math.ceil(bytes / 65536));
      } catch { kernel = null; }  // no WebAssembly SIMD: plain JavaScript
    }
    this.kernel = kernel;
    this.buffer = kernel ? kernel.memory.buffer : new ArrayBuffer(bytes);
    this.top = 0;
    this.zero = this.alloc(zeroRows);
  }

  get backend() {
    return this.kernel ? "wasm-simd" : "js";
  }

  alloc(n, values = null) {
    if (this.top + 4 * n > this.buffer.byteLength) throw new Error("arena full");
    const v = { p: this.top, a: new Float32Array(this.buffer, this.top, n) };
    if (values) v.a.set(values);
    this.top += 16 * Math.ceil((4 * n) / 16);  // every vector starts on 16 bytes
    return v;
  }

  // out = W x + b, W (out.a.length x cols); without b, out = W x
  matvec(W, cols, x, b, out) {
    const rows = out.a.length;
    b = b || this.zero;
    if (this.kernel && cols % 16 === 0) return this.kernel.matvec(W.p, x.p, b.p, out.p, rows, cols);
    const w = W.a, xa = x.a, ba = b.a, o = out.a;
    for (let r = 0; r < rows; r++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, c = 0;
      const base = r * cols;
      for (; c + 3 < cols; c += 4) {
        s0 += w[base + c] * xa[c]; s1 += w[base + c + 1] * xa[c + 1];
        s2 += w[base + c + 2] * xa[c + 2]; s3 += w[base + c + 3] * xa[c + 3];
      }
      for (; c < cols; c++) s0 += w[base + c] * xa[c];
      o[r] = ba[r] + (s0 + s1) + (s2 + s3);
    }
  }
}

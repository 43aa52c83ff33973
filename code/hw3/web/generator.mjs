// The report's GAN generators in the browser and in Node: `await load(dir, name)` -> model.generate(z)
// -> Float32Array(784) in [0, 1] (a 28 x 28 digit, row by row) for a Float32Array(latent_dim) code z.
// The forward passes follow hw3/gan/models.py in eval mode (BatchNorm with its running statistics):
//
//   spec (MLP):  x = tanh(W2 relu(W1 z + b1) + b2)
//   DCGAN:       relu(BN(W z)) as (C, 7, 7) -> ConvTranspose(4, stride 2, pad 1) -> BN -> relu
//                -> ConvTranspose(4, stride 2, pad 1) + b -> tanh
//
// and the image is (x + 1) / 2 clamped to [0, 1], as hw3.gan.models.to_unit. The products run in
// WebAssembly SIMD where available (tensors.mjs: Arena), a transposed convolution as one product per
// input pixel. Paths between codes: `lerp` (the straight line) and `slerp` (the great circle; Shoemake 1985, White 2016), as hw3.gan.sampling.
import { Arena, readContainer } from "./tensors.mjs";

const BN_EPS = 1e-5;
const pad16 = (n) => 16 * Math.ceil(n / 16);

// a (rows x cols) matrix (a Float32Array or a container tensor) in the arena, its columns padded with
// zeros to a multiple of 16; int8 rows are decoded straight into it
function putPadded(arena, data, rows, cols) {
  const width = pad16(cols), m = arena.alloc(rows * width);
  for (let r = 0; r < rows; r++) {
    if (data.q) data.rowInto(r, m.a, r * width);
    else m.a.set((data.data || data).subarray(r * cols, (r + 1) * cols), r * width);
  }
  return { ...m, cols: width };
}

// ConvTranspose2d weights (cin, cout, k, k) as the matrix (cout k k x cin) that maps one input pixel's
// channels to its contributions: then a transposed convolution is one product per input pixel
function putTransposedConv(arena, W, cin, cout, k = 4) {
  const rows = cout * k * k, m = putPadded(arena, new Float32Array(rows * cin), rows, cin);
  for (let i = 0; i < cin; i++) {
    for (let j = 0; j < rows; j++) m.a[j * m.cols + i] = W[i * rows + j];
  }
  return m;
}

// eval-mode BatchNorm as a scale and shift per channel
function batchNorm(t, prefix) {
  const w = t(`${prefix}.weight`), b = t(`${prefix}.bias`), mean = t(`${prefix}.running_mean`), v = t(`${prefix}.running_var`);
  const scale = new Float64Array(w.length), shift = new Float64Array(w.length);
  for (let c = 0; c < w.length; c++) {
    scale[c] = w[c] / Math.sqrt(v[c] + BN_EPS);
    shift[c] = b[c] - mean[c] * scale[c];
  }
  return { scale, shift };
}

class Generator {
  constructor(info, tensors, { wasm = true } = {}) {
    const T = (k) => tensors[`${info.name}/${k}`], t = (k) => T(k).data;
    Object.assign(this, { name: info.name, role: info.role, arch: info.arch, fid: info.fid,
                          latentDim: info.latent_dim, C: info.hidden_size });
    const C = this.C, L = this.latentDim, mlp = this.arch === "mlp";
    const floats = mlp ? pad16(L) * (C + 1) + 784 * pad16(C) + C + 784
      : 49 * C * (pad16(L) + 2) + 16 * (C / 2) * pad16(C) + 16 * pad16(C / 2) + 196 * pad16(C / 2) + 16 * C + 64 * 16;
    const arena = (this.arena = new Arena(floats + 1024, wasm, mlp ? 784 : 49 * C));
    this.z = arena.alloc(pad16(L));
    if (mlp) {
      this.p = { W1: putPadded(arena, T("net.0.weight"), C, L), b1: arena.alloc(C, t("net.0.bias")),
                 W2: putPadded(arena, T("net.2.weight"), 784, C), b2: arena.alloc(784, t("net.2.bias")),
                 h: arena.alloc(C), x: arena.alloc(784) };
    } else {
      this.p = { W: putPadded(arena, T("project.0.weight"), 49 * C, L), bn1: batchNorm(t, "project.1"),
                 T1: putTransposedConv(arena, t("net.0.weight"), C, C / 2), bn2: batchNorm(t, "net.1"),
                 T2: putTransposedConv(arena, t("net.3.weight"), C / 2, 1), b2: t("net.3.bias")[0],
                 h: arena.alloc(49 * C), hPos: arena.alloc(49 * C), gPos: arena.alloc(196 * pad16(C / 2)),
                 part: arena.alloc(16 * (C / 2)) };
    }
  }

  // ConvTranspose2d(cin -> cout, 4, stride 2, padding 1) of channels-last pixels xPos (n*n, stride) -> (cout, 2n, 2n)
  convTranspose(xPos, stride, T, cout, n) {
    const m = 2 * n, out = new Float64Array(cout * m * m), part = { p: this.p.part.p, a: this.p.part.a.subarray(0, cout * 16) };
    for (let iy = 0; iy < n; iy++) {
      for (let ix = 0; ix < n; ix++) {
        const at = (iy * n + ix) * stride;
        this.arena.matvec(T, T.cols, { p: xPos.p + 4 * at, a: xPos.a.subarray(at, at + T.cols) }, null, part);
        for (let o = 0; o < cout; o++) {
          for (let ky = 0; ky < 4; ky++) {
            const y = 2 * iy - 1 + ky;
            if (y < 0 || y >= m) continue;
            for (let kx = 0; kx < 4; kx++) {
              const x = 2 * ix - 1 + kx;
              if (x >= 0 && x < m) out[(o * m + y) * m + x] += part.a[o * 16 + ky * 4 + kx];
            }
          }
        }
      }
    }
    return out;
  }

  generate(z) {
    if (z.length !== this.latentDim) throw new Error(`a code has ${this.latentDim} numbers, not ${z.length}`);
    const p = this.p, C = this.C, arena = this.arena;
    this.z.a.set(z);
    if (this.arch === "mlp") {
      arena.matvec(p.W1, p.W1.cols, this.z, p.b1, p.h);
      for (let j = 0; j < C; j++) p.h.a[j] = Math.max(0, p.h.a[j]);
      arena.matvec(p.W2, p.W2.cols, p.h, p.b2, p.x);
      return toImage(p.x.a);
    }
    arena.matvec(p.W, p.W.cols, this.z, null, p.h);  // (C, 7, 7) before BatchNorm
    for (let c = 0; c < 49 * C; c++) {  // BatchNorm1d over the 49 C features, ReLU, to channels-last pixels
      p.hPos.a[(c % 49) * C + Math.floor(c / 49)] = Math.max(0, p.h.a[c] * p.bn1.scale[c] + p.bn1.shift[c]);
    }
    const half = C / 2, stride = pad16(half);
    const g = this.convTranspose(p.hPos, C, p.T1, half, 7);  // (C/2, 14, 14)
    for (let c = 0; c < half; c++) {  // BatchNorm2d, ReLU, to channels-last pixels
      for (let j = 0; j < 196; j++) p.gPos.a[j * stride + c] = Math.max(0, g[c * 196 + j] * p.bn2.scale[c] + p.bn2.shift[c]);
    }
    const x = this.convTranspose(p.gPos, stride, p.T2, 1, 14);  // (1, 28, 28)
    for (let i = 0; i < 784; i++) x[i] += p.b2;
    return toImage(x);
  }
}

function toImage(x) {
  const img = new Float32Array(784);
  for (let i = 0; i < 784; i++) img[i] = Math.min(1, Math.max(0, (Math.tanh(x[i]) + 1) / 2));
  return img;
}

// the generator `name` (default: the spec); `models` lists every generator of the bundle.
// options: {wasm: false} runs every product in plain JavaScript
export async function load(dir = ".", name = undefined, options = {}) {
  const { meta, tensors } = await readContainer(dir, "generator");
  const info = meta.models.find((m) => m.name === (name ?? meta.default));
  if (!info) throw new Error(`no generator ${name}; the bundle has ${meta.models.map((m) => m.name).join(", ")}`);
  const model = new Generator(info, tensors, options);
  model.models = meta.models;
  model.others = (other) => new Generator(meta.models.find((m) => m.name === other), tensors, options);
  return model;
}

// --- codes and paths -------------------------------------------------------------------------------

// a standard normal code (Box-Muller)
export function randomCode(n = 100, random = Math.random) {
  const z = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random())), a = 2 * Math.PI * random();
    z[i] = r * Math.cos(a);
    if (i + 1 < n) z[i + 1] = r * Math.sin(a);
  }
  return z;
}

export function lerp(z0, z1, t) {
  return z0.map((v, i) => v + t * (z1[i] - v));
}

export function slerp(z0, z1, t) {
  let dot = 0, n0 = 0, n1 = 0;
  for (let i = 0; i < z0.length; i++) { dot += z0[i] * z1[i]; n0 += z0[i] ** 2; n1 += z1[i] ** 2; }
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(n0 * n1))));
  if (Math.abs(omega) < 1e-6) return lerp(z0, z1, t);
  const a = Math.sin((1 - t) * omega) / Math.sin(omega), b = Math.sin(t * omega) / Math.sin(omega);
  return z0.map((v, i) => a * v + b * z1[i]);
}

// --- the widget ------------------------------------------------------------------------------------

function draw(canvas, img) {
  const ctx = canvas.getContext("2d"), data = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * (1 - img[i]));  // dark strokes on white, as the chapter's figures
    data.data.set([v, v, v, 255], 4 * i);
  }
  const small = document.createElement("canvas");
  small.width = small.height = 28;
  small.getContext("2d").putImageData(data, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

// Accessible in both page themes: visible labels, native keyboard-operable controls (the slider moves
// with the arrow keys, Home and End), each digit described for screen readers, the position announced
// in a live region, the page's own colours, rows that wrap on a phone, a load failure said in the widget.
const STYLE = `
.hw3-generator { color: var(--bs-body-color, CanvasText); }
.hw3-generator .hw3-widget-row { display: flex; flex-wrap: wrap; gap: 0.5em 0.8em; align-items: center; margin: 0.4em 0; }
.hw3-generator label { display: inline-flex; flex-wrap: wrap; gap: 0.3em; align-items: center; max-width: 100%; min-width: 0; }
.hw3-generator select, .hw3-generator button { color: inherit; background: var(--bs-body-bg, Canvas); font: inherit;
  border: 1px solid var(--bs-border-color, GrayText); border-radius: 0.25rem; padding: 0.2em 0.5em; max-width: 100%; min-width: 0; }
.hw3-generator select { width: 18em; }
.hw3-generator input[type=range] { width: 168px; max-width: 100%; accent-color: var(--bs-link-color, Highlight); }
.hw3-generator :focus-visible { outline: 3px solid var(--bs-link-color, Highlight); outline-offset: 2px; }
.hw3-generator figure { margin: 0; text-align: center; }
.hw3-generator figcaption { font-size: 0.8em; }
.hw3-generator canvas { border: 1px solid var(--bs-border-color, GrayText); image-rendering: pixelated; max-width: 100%; height: auto; }
.hw3-error { font-weight: 600; }
`;

function addStyle(id, css) {
  if (typeof document === "undefined" || document.getElementById(id)) return;
  const style = el("style", { id });
  style.textContent = css;
  document.head.append(style);
}

let uid = 0;

// two codes A and B, a slider along the straight line or the great circle between them, a model picker
export async function mount(root, dir = ".") {
  addStyle("hw3-generator-style", STYLE);
  root.setAttribute("aria-busy", "true");
  let first;
  try {
    first = await load(dir);
  } catch (e) {
    root.replaceChildren(el("p", { class: "hw3-error", role: "alert" }, `Could not load the generators: ${e.message || e}`));
    root.setAttribute("aria-busy", "false");
    throw e;
  }
  const models = Object.fromEntries(first.models.map((m) => [m.name, m.name === first.name ? first : first.others(m.name)]));
  let model = first, zA = randomCode(first.latentDim), zB = randomCode(first.latentDim);
  const n = ++uid;
  const canvas = (size, name) => el("canvas", { width: String(size), height: String(size), role: "img", "aria-label": name });
  const main = canvas(168, "generated digit"), thumbA = canvas(56, "digit of code A"), thumbB = canvas(56, "digit of code B");
  const figure = (c, caption) => { const f = el("figure"); f.append(c, el("figcaption", {}, caption)); return f; };
  const labelled = (text, control) => { const l = el("label"); l.append(el("span", {}, text), control); return l; };
  const picker = el("select", { id: `hw3-gen-model-${n}` });
  for (const m of first.models) picker.append(el("option", { value: m.name }, `${m.name} (${m.role}${m.fid ? `, FID ${m.fid.toFixed(0)}` : ""})`));
  const path = el("select", { id: `hw3-gen-path-${n}` });
  path.append(el("option", { value: "slerp" }, "great circle"), el("option", { value: "lerp" }, "straight line"));
  const slider = el("input", { type: "range", min: "0", max: "1", step: "0.01", value: "0", id: `hw3-gen-t-${n}` });
  const newA = el("button", { type: "button" }, "New code A"), newB = el("button", { type: "button" }, "New code B");
  const label = el("span", { class: "hw3-t", "aria-live": "polite", "aria-atomic": "true" });
  const show = (ends = false) => {  // the digit at t; with `ends`, also the two codes' own digits
    const t = Number(slider.value), z = (path.value === "lerp" ? lerp : slerp)(zA, zB, t);
    draw(main, model.generate(Float32Array.from(z)));
    if (ends) { draw(thumbA, model.generate(zA)); draw(thumbB, model.generate(zB)); }
    label.textContent = `t = ${t.toFixed(2)}`;
    slider.setAttribute("aria-valuetext", `t = ${t.toFixed(2)}, from code A (0) to code B (1)`);
    main.setAttribute("aria-label", `digit generated by ${model.name} at t = ${t.toFixed(2)} between codes A and B`);
    thumbA.setAttribute("aria-label", `digit generated by ${model.name} from code A (t = 0)`);
    thumbB.setAttribute("aria-label", `digit generated by ${model.name} from code B (t = 1)`);
    main.dataset.t = String(t);
  };
  newA.addEventListener("click", () => { zA = randomCode(model.latentDim); slider.value = "0"; show(true); });
  newB.addEventListener("click", () => { zB = randomCode(model.latentDim); slider.value = "1"; show(true); });
  picker.addEventListener("change", () => { model = models[picker.value]; show(true); });
  for (const c of [slider, path]) c.addEventListener("input", () => show());
  const row = (...kids) => { const d = el("div", { class: "hw3-widget-row" }); d.append(...kids); return d; };
  root.classList.add("hw3-generator");
  root.replaceChildren(row(labelled("Generator", picker), labelled("Path", path)),
                       row(figure(thumbA, "A"), figure(main, "between A and B"), figure(thumbB, "B")),
                       row(newA, labelled("Position from A to B", slider), label, newB));
  root.setAttribute("aria-busy", "false");
  show(true);
  return { models, show, setCodes: (a, b) => { zA = a; zB = b; show(true); }, main };
}

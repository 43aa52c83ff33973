// The report's GAN generators in the browser and in Node: `await load(dir, name)` -> model.generate(z)
// -> Float32Array(784) in [0, 1] (a 28 x 28 digit, row by row) for a Float32Array(latent_dim) code z.
// The forward passes follow hw3/gan/models.py in eval mode (BatchNorm with its running statistics):
//
//   spec (MLP):  x = tanh(W2 relu(W1 z + b1) + b2)
//   DCGAN:       relu(BN(W z)) as (C, 7, 7) -> ConvTranspose(4, stride 2, pad 1) -> BN -> relu
//                -> ConvTranspose(4, stride 2, pad 1) + b -> tanh
//
// and the image is (x + 1) / 2 clamped to [0, 1], as hw3.gan.models.to_unit. Paths between codes:
// `lerp` (the straight line) and `slerp` (the great circle; Shoemake 1985, White 2016), as hw3.gan.sampling.
import { readContainer } from "./tensors.mjs";

const BN_EPS = 1e-5;

function linear(W, b, x, rows, cols) {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * cols;
    for (let c = 0; c < cols; c++) s += W[o + c] * x[c];
    out[r] = (b ? b[r] : 0) + s;
  }
  return out;
}

// ConvTranspose2d(cin -> cout, k, stride 2, padding 1) of x (cin, n, n) -> (cout, 2n, 2n); W (cin, cout, k, k)
function convTranspose(x, W, bias, cin, cout, n, k = 4) {
  const m = 2 * n, out = new Float64Array(cout * m * m);
  if (bias) for (let o = 0; o < cout; o++) out.fill(bias[o], o * m * m, (o + 1) * m * m);
  for (let i = 0; i < cin; i++) {
    for (let iy = 0; iy < n; iy++) {
      for (let ix = 0; ix < n; ix++) {
        const v = x[(i * n + iy) * n + ix];
        if (v === 0) continue;  // after a ReLU, many inputs are exactly 0
        for (let o = 0; o < cout; o++) {
          const w = ((i * cout + o) * k) * k, plane = o * m * m;
          for (let ky = 0; ky < k; ky++) {
            const y = 2 * iy - 1 + ky;
            if (y < 0 || y >= m) continue;
            for (let kx = 0; kx < k; kx++) {
              const xx = 2 * ix - 1 + kx;
              if (xx >= 0 && xx < m) out[plane + y * m + xx] += v * W[w + ky * k + kx];
            }
          }
        }
      }
    }
  }
  return out;
}

// eval-mode BatchNorm over channels of `size` values each, then ReLU, in place
function batchNormRelu(x, bn, channels, size) {
  for (let c = 0; c < channels; c++) {
    const s = bn.weight[c] / Math.sqrt(bn.var[c] + BN_EPS), t = bn.bias[c] - bn.mean[c] * s;
    for (let j = c * size; j < (c + 1) * size; j++) x[j] = Math.max(0, x[j] * s + t);
  }
  return x;
}

function toImage(x) {
  const img = new Float32Array(784);
  for (let i = 0; i < 784; i++) img[i] = Math.min(1, Math.max(0, (Math.tanh(x[i]) + 1) / 2));
  return img;
}

class Generator {
  constructor(info, tensors) {
    const t = (k) => tensors[`${info.name}/${k}`].data;
    const bn = (p) => ({ weight: t(`${p}.weight`), bias: t(`${p}.bias`), mean: t(`${p}.running_mean`), var: t(`${p}.running_var`) });
    Object.assign(this, { name: info.name, role: info.role, arch: info.arch, fid: info.fid,
                          latentDim: info.latent_dim, C: info.hidden_size });
    if (this.arch === "mlp") this.p = { W1: t("net.0.weight"), b1: t("net.0.bias"), W2: t("net.2.weight"), b2: t("net.2.bias") };
    else this.p = { W: t("project.0.weight"), bn1: bn("project.1"), T1: t("net.0.weight"), bn2: bn("net.1"),
                    T2: t("net.3.weight"), b2: t("net.3.bias") };
  }

  generate(z) {
    if (z.length !== this.latentDim) throw new Error(`a code has ${this.latentDim} numbers, not ${z.length}`);
    const p = this.p, C = this.C;
    if (this.arch === "mlp") {
      const h = linear(p.W1, p.b1, z, C, this.latentDim).map((v) => Math.max(0, v));
      return toImage(linear(p.W2, p.b2, h, 784, C));
    }
    const h = batchNormRelu(linear(p.W, null, z, C * 49, this.latentDim), p.bn1, C * 49, 1);  // (C, 7, 7)
    const g = batchNormRelu(convTranspose(h, p.T1, null, C, C / 2, 7), p.bn2, C / 2, 196);  // (C/2, 14, 14)
    return toImage(convTranspose(g, p.T2, p.b2, C / 2, 1, 14));  // (1, 28, 28)
  }
}

// the generator `name` (default: the spec); `models` lists every generator of the bundle
export async function load(dir = ".", name = undefined) {
  const { meta, tensors } = await readContainer(dir, "generator");
  const info = meta.models.find((m) => m.name === (name ?? meta.default));
  if (!info) throw new Error(`no generator ${name}; the bundle has ${meta.models.map((m) => m.name).join(", ")}`);
  const model = new Generator(info, tensors);
  model.models = meta.models;
  model.others = (other) => new Generator(meta.models.find((m) => m.name === other), tensors);
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

// two codes A and B, a slider along the straight line or the great circle between them, a model picker
export async function mount(root, dir = ".") {
  const first = await load(dir);
  const models = Object.fromEntries(first.models.map((m) => [m.name, m.name === first.name ? first : first.others(m.name)]));
  let model = first, zA = randomCode(first.latentDim), zB = randomCode(first.latentDim);
  const canvas = (size) => el("canvas", { width: String(size), height: String(size), style: "border: 1px solid #ccc; image-rendering: pixelated" });
  const main = canvas(168), thumbA = canvas(56), thumbB = canvas(56);
  const picker = el("select", { "aria-label": "generator" });
  for (const m of first.models) picker.append(el("option", { value: m.name }, `${m.name} (${m.role}${m.fid ? `, FID ${m.fid.toFixed(0)}` : ""})`));
  const path = el("select", { "aria-label": "path" });
  path.append(el("option", { value: "slerp" }, "great circle"), el("option", { value: "lerp" }, "straight line"));
  const slider = el("input", { type: "range", min: "0", max: "1", step: "0.01", value: "0", "aria-label": "position between A and B", style: "width: 168px" });
  const newA = el("button", { type: "button" }, "new A"), newB = el("button", { type: "button" }, "new B");
  const label = el("span", { class: "hw3-t" });
  const show = () => {
    const t = Number(slider.value), z = (path.value === "lerp" ? lerp : slerp)(zA, zB, t);
    draw(main, model.generate(Float32Array.from(z)));
    draw(thumbA, model.generate(zA)); draw(thumbB, model.generate(zB));
    label.textContent = ` t = ${t.toFixed(2)}`;
    main.dataset.t = String(t);
  };
  newA.addEventListener("click", () => { zA = randomCode(model.latentDim); slider.value = "0"; show(); });
  newB.addEventListener("click", () => { zB = randomCode(model.latentDim); slider.value = "1"; show(); });
  picker.addEventListener("change", () => { model = models[picker.value]; show(); });
  for (const c of [slider, path]) c.addEventListener("input", show);
  const row = (...kids) => { const d = el("div", { style: "margin: 0.3em 0; display: flex; gap: 0.5em; align-items: center" }); d.append(...kids); return d; };
  root.classList.add("hw3-generator");
  root.replaceChildren(row(picker, path), row(thumbA, main, thumbB), row(newA, slider, newB, label));
  show();
  return { models, show, setCodes: (a, b) => { zA = a; zB = b; show(); }, main };
}

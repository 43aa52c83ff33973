// The report's attention GRU in the browser and in Node: `await load(dir)` -> model.predict(text) ->
// {prob_pos, tokens, weights}, as `hw3 predict` computes it (hw3/sentiment/model.py, hw3/text.py):
//
//   tokens  = tokenize(text), cut to max_len; ids = vocab (unknown -> <unk>)
//   layer l: r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
//            n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h     (PyTorch's GRU)
//   e_t = vᵀ tanh(W h_t + b), α = softmax(e), c = Σ α_t h_t, P(positive) = σ(w·c + b)    (Bahdanau et al.)
//
// A GRU reads left to right, so the states of an unchanged prefix are kept between calls: typing at
// the end of a review recomputes only the last token or two. States are float32 as in PyTorch; the
// matrix-vector products run in WebAssembly SIMD (matvec.wat) where available, else in JavaScript.
import { Arena, readContainer } from "./tensors.mjs";

// --- tokenizer (hw3/text.py: tokenize, normalize, token_spans) -------------------------------------

const TAG_RE = /<\/?[a-zA-Z][^<>]{0,40}>/g;
const APOSTROPHES_RE = /[\u2019\u2018\u02bc`\u00b4]/g;
const TOKEN_RE = /[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*|[!?]|[^\p{L}\p{N}_\s\x00-\x7f]/gu;
const WORD_RE = /^(?:[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*|[!?])$/u;
const SYMBOL_RE = /^\p{S}$/u;

export function normalize(text) {
  return text.replace(TAG_RE, " ").normalize("NFKC").replace(APOSTROPHES_RE, "'");
}

// {shown, spans: [[token, start, end]]}: the text as displayed and where each token sits in it
export function tokenSpans(text) {
  let shown = normalize(text);
  const lower = shown.toLowerCase();
  if (lower.length !== shown.length) shown = lower;
  const spans = [];
  for (const m of lower.matchAll(TOKEN_RE)) {
    const t = m[0];  // a lone non-word character is kept only if it is a symbol (emoji, ©, ★)
    if (WORD_RE.test(t) || SYMBOL_RE.test(t)) spans.push([t, m.index, m.index + t.length]);
  }
  return { shown, spans };
}

export function tokenize(text) {
  return tokenSpans(text).spans.map((s) => s[0]);
}

// --- the model -------------------------------------------------------------------------------------

const sigmoid = (x) => 1 / (1 + Math.exp(-x));

class SentimentModel {
  constructor(meta, tensors, { wasm = true } = {}) {
    const t = (name) => tensors[name].data;
    const c = meta.config, H = c.hidden_size, E = c.embedding_dim, A = c.attention_dim;
    Object.assign(this, { meta, maxLen: c.max_len, E, H, A });
    this.stoi = new Map(meta.itos.map((w, i) => [w, i]));
    const inArena = Object.keys(tensors).filter((k) => k.startsWith("gru.") || k.startsWith("attention.W."));
    const floats = inArena.reduce((n, k) => n + tensors[k].shape.reduce((a, b) => a * b, 1) + 16, 0) + 12 * H + 2 * A + E + 64;
    const arena = (this.arena = new Arena(floats, wasm));
    const put = (name) => {  // into the arena, int8 rows decoded straight into it
      const x = tensors[name], v = arena.alloc(x.shape.reduce((a, b) => a * b, 1));
      if (x.q) for (let r = 0; r < x.shape[0]; r++) x.rowInto(r, v.a, r * x.cols);
      else v.a.set(x.data);
      return v;
    };
    this.embedding = tensors["embedding.weight"];  // rows decoded when a token is first seen
    this.x = arena.alloc(E);
    this.layers = [];
    for (let l = 0; l < c.num_layers; l++) {
      this.layers.push({ Wih: put(`gru.weight_ih_l${l}`), Whh: put(`gru.weight_hh_l${l}`), bih: put(`gru.bias_ih_l${l}`),
                         bhh: put(`gru.bias_hh_l${l}`), inSize: l === 0 ? E : H });
    }
    this.attW = put("attention.W.weight"); this.attB = put("attention.W.bias");
    this.attV = t("attention.v.weight"); this.headW = t("head.1.weight"); this.headB = t("head.1.bias")[0];
    // scratch: the state fed in, the layer below's output, input and hidden gates, attention hidden
    Object.assign(this, { hPrev: arena.alloc(H), below: arena.alloc(H), gi: arena.alloc(3 * H), gh: arena.alloc(3 * H),
                          u: arena.alloc(A), zero: new Float32Array(H) });
    this.inputGates = new Map();  // token id -> W_ih x + b_ih of the first layer (the same at every position)
    this.ids = []; this.states = [];  // per position: {h: [each layer's state], e: attention score}
  }

  get backend() {
    return this.arena.backend;
  }

  encode(tokens) {
    return tokens.map((w) => this.stoi.get(w) ?? 1);  // 1 = <unk>
  }

  firstGates(id) {
    let g = this.inputGates.get(id);
    if (!g) {
      const emb = this.embedding;
      if (emb.q) emb.rowInto(id, this.x.a);
      else this.x.a.set(emb.data.subarray(id * this.E, (id + 1) * this.E));
      this.arena.matvec(this.layers[0].Wih, this.E, this.x, this.layers[0].bih, this.gi);
      g = this.gi.a.slice();
      this.inputGates.set(id, g);
    }
    return g;
  }

  // one GRU step of `layer` from state hPrev (H,) given its input gates xg = W_ih x + b_ih (3H,)
  step(layer, xg, hPrev) {
    const H = this.H, gh = this.gh.a, h = new Float32Array(H);
    this.hPrev.a.set(hPrev);
    this.arena.matvec(layer.Whh, H, this.hPrev, layer.bhh, this.gh);
    for (let j = 0; j < H; j++) {
      const r = sigmoid(xg[j] + gh[j]);
      const z = sigmoid(xg[H + j] + gh[H + j]);
      const n = Math.tanh(xg[2 * H + j] + r * gh[2 * H + j]);
      h[j] = (1 - z) * n + z * hPrev[j];
    }
    return h;
  }

  advance(id) {
    const prev = this.states.length ? this.states[this.states.length - 1].h : null;
    const hs = [];
    this.layers.forEach((layer, l) => {
      let xg;
      if (l === 0) xg = this.firstGates(id);
      else { this.arena.matvec(layer.Wih, this.H, this.below, layer.bih, this.gi); xg = this.gi.a; }
      const h = this.step(layer, xg, prev ? prev[l] : this.zero);
      this.below.a.set(h);
      hs.push(h);
    });
    this.arena.matvec(this.attW, this.H, this.below, this.attB, this.u);
    let e = 0;
    for (let a = 0; a < this.A; a++) e += this.attV[a] * Math.tanh(this.u.a[a]);
    this.states.push({ h: hs, e });
    this.ids.push(id);
  }

  // {prob_pos, tokens, weights, shown, spans, truncated}; prob_pos is NaN for a text without words
  predict(text) {
    const { shown, spans: allSpans } = tokenSpans(text);
    const spans = allSpans.slice(0, this.maxLen);
    const tokens = spans.map((s) => s[0]);
    const ids = this.encode(tokens);
    let keep = 0;
    while (keep < ids.length && keep < this.ids.length && ids[keep] === this.ids[keep]) keep++;
    this.ids.length = keep; this.states.length = keep;
    for (let i = keep; i < ids.length; i++) this.advance(ids[i]);
    const n = ids.length, H = this.H;
    const weights = new Float64Array(n);
    if (!n) return { prob_pos: NaN, tokens, weights: [], shown, spans, truncated: false };
    let peak = -Infinity, total = 0;
    for (let i = 0; i < n; i++) peak = Math.max(peak, this.states[i].e);
    for (let i = 0; i < n; i++) total += (weights[i] = Math.exp(this.states[i].e - peak));
    let logit = this.headB;
    const context = new Float64Array(H);
    for (let i = 0; i < n; i++) {
      weights[i] /= total;
      const top = this.states[i].h[this.layers.length - 1];
      for (let j = 0; j < H; j++) context[j] += weights[i] * top[j];
    }
    for (let j = 0; j < H; j++) logit += this.headW[j] * context[j];
    return { prob_pos: sigmoid(logit), tokens, weights: Array.from(weights), shown, spans,
             truncated: allSpans.length > this.maxLen };
  }
}

// options: {wasm: false} runs every product in plain JavaScript
export async function load(dir = ".", options = {}) {
  const { meta, tensors } = await readContainer(dir, "sentiment");
  return new SentimentModel(meta, tensors, options);
}

// --- the widget ------------------------------------------------------------------------------------
// Accessible in both page themes: visible labels, native keyboard-operable controls, the verdict in a
// live region, the page's own colours (CSS variables, with system colours on a bare page), controls
// that wrap on a phone, and a load failure said in the widget instead of "Loading…" for ever.

const STYLE = `
.hw3-sentiment { color: var(--bs-body-color, CanvasText); }
.hw3-sentiment .hw3-widget-row { display: flex; flex-wrap: wrap; gap: 0.4em; align-items: center; margin: 0.4em 0; }
.hw3-sentiment label { display: block; font-weight: 600; margin: 0.3em 0; }
.hw3-sentiment textarea, .hw3-sentiment button { color: inherit; background: var(--bs-body-bg, Canvas); font: inherit;
  border: 1px solid var(--bs-border-color, GrayText); border-radius: 0.25rem; padding: 0.25em 0.5em; }
.hw3-sentiment textarea { width: 100%; box-sizing: border-box; }
.hw3-sentiment :focus-visible { outline: 3px solid var(--bs-link-color, Highlight); outline-offset: 2px; }
.hw3-sentiment .hw3-word { border-radius: 2px; }
.hw3-sentiment .hw3-heavy { outline: 1px solid currentColor; font-weight: 600; }
.hw3-sentiment .hw3-unread { opacity: 0.75; font-style: italic; }
.hw3-error { font-weight: 600; }
`;

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

export function addStyle(id, css) {
  if (typeof document === "undefined" || document.getElementById(id)) return;
  const style = el("style", { id });
  style.textContent = css;
  document.head.append(style);
}

// "rgb(r, g, b)" or "rgba(...)" -> [r, g, b] in 0..255 (the page background; white when transparent)
function rgbOf(color) {
  const m = /rgba?\(([^)]+)\)/.exec(color || "");
  if (!m) return [255, 255, 255];
  const v = m[1].split(",").map(Number);
  return v.length === 4 && v[3] === 0 ? [255, 255, 255] : v.slice(0, 3);
}

function luminance([r, g, b]) {
  const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}

// The shade of a word with share `a` (0..1) of the peak weight: Okabe-Ito orange over the page's own
// background, and whichever of black or white text reads better on it (WCAG contrast).
export function shade(a, page = [255, 255, 255]) {
  const orange = [230, 159, 0];
  const bg = orange.map((c, i) => Math.round(a * c + (1 - a) * page[i]));
  const L = luminance(bg), black = (L + 0.05) / 0.05, white = 1.05 / (L + 0.05);
  return { background: `rgb(${bg.join(", ")})`, color: black >= white ? "#000" : "#fff" };
}

// the text with each word shaded by its attention weight (darkest: the largest), the heaviest words also
// outlined and bold (a cue besides colour), the unread rest in italics
function renderHighlight(box, out) {
  const frag = document.createDocumentFragment();
  const peak = Math.max(0, ...out.weights);
  let page = [255, 255, 255];
  for (let node = box; node && node.nodeType === 1; node = node.parentElement) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && !/rgba\([^)]*,\s*0\)$/.test(bg) && bg !== "transparent") { page = rgbOf(bg); break; }
  }
  let pos = 0;
  out.spans.slice(0, out.tokens.length).forEach(([, a, b], i) => {
    if (a > pos) frag.append(out.shown.slice(pos, a));
    const w = out.weights[i], share = peak > 0 ? w / peak : 0, { background, color } = shade(share, page);
    const span = el("span", { title: `attention weight ${w.toFixed(4)}`, "data-weight": w.toFixed(6), class: share >= 0.5 ? "hw3-word hw3-heavy" : "hw3-word",
                              style: `background-color: ${background}; color: ${color}` });
    span.textContent = out.shown.slice(a, b);
    frag.append(span);
    pos = b;
  });
  if (out.truncated) frag.append(el("span", { class: "hw3-unread", title: "not read: past the model's length limit" }, out.shown.slice(pos)));
  else frag.append(out.shown.slice(pos));
  box.replaceChildren(frag);
}

let uid = 0;

// a text box, example reviews to click, P(positive) and the highlighted words, updated as one types
export async function mount(root, dir = ".") {
  const t0 = performance.now();
  addStyle("hw3-sentiment-style", STYLE);
  root.setAttribute("aria-busy", "true");
  let model;
  try {
    model = await load(dir);
  } catch (e) {
    root.replaceChildren(el("p", { class: "hw3-error", role: "alert" }, `Could not load the model: ${e.message || e}`));
    root.setAttribute("aria-busy", "false");
    throw e;
  }
  const examples = model.meta.examples || [];
  root.classList.add("hw3-sentiment");
  const id = `hw3-review-${++uid}`;
  const label = el("label", { for: id }, "Your review (the model reads it as you type)");
  const input = el("textarea", { id, rows: "6", spellcheck: "true" });
  const buttons = el("div", { class: "hw3-examples hw3-widget-row", role: "group", "aria-label": "Example reviews from the test set" });
  const verdict = el("p", { class: "hw3-verdict", "aria-live": "polite", "aria-atomic": "true", style: "margin: 0.4em 0; font-weight: 600" });
  const highlight = el("p", { class: "hw3-highlight", style: "line-height: 1.8" });
  const legend = el("p", { class: "hw3-legend", style: "font-size: 0.85em; margin: 0.2em 0" },
                    "Each word is shaded by its attention weight; the words with at least half the largest weight are also outlined and bold.");
  const stats = { loadMs: performance.now() - t0, lastMs: NaN };
  const update = () => {
    const start = performance.now();
    const out = model.predict(input.value);
    if (Number.isNaN(out.prob_pos)) verdict.textContent = "Type or paste a review.";
    else verdict.textContent = `P(positive) = ${out.prob_pos.toFixed(4)}: ${out.prob_pos >= 0.5 ? "positive" : "negative"}`
      + (out.truncated ? ` (cut to the first ${model.maxLen} tokens, as in training)` : "");
    verdict.dataset.prob = String(out.prob_pos);
    renderHighlight(highlight, out);
    stats.lastMs = performance.now() - start;
    return out;
  };
  for (const ex of examples) {
    const b = el("button", { type: "button", title: ex.text.slice(0, 200) },
                 `${ex.title} (${ex.label ? "positive" : "negative"}, ${ex.stars}★)`);
    b.addEventListener("click", () => { input.value = ex.text; update(); });
    buttons.append(b);
  }
  input.addEventListener("input", update);
  root.replaceChildren(label, input, buttons, verdict, legend, highlight);
  root.setAttribute("aria-busy", "false");
  input.value = examples.length ? examples[0].text : "A moving, beautifully acted film.";
  update();
  stats.firstPredictMs = stats.lastMs;
  stats.firstMs = performance.now();  // ms since the page started loading
  return { model, input, update, stats };
}

// Runs the exported modules in Node on fixed inputs, for tests/web/test_node.py:
//   node parity.mjs BUNDLE_DIR INPUT.json OUTPUT.json
// INPUT: {"texts": [...], "codes": [[100 numbers], ...]}; OUTPUT: {"sentiment": [{prob_pos, tokens, weights}],
// "generators": {name: [[784 pixels], ...]}}
import { readFile, writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [dir, input, output] = process.argv.slice(2);
const url = (name) => pathToFileURL(path.resolve(dir, name)).href;
const sentiment = await import(url("sentiment.mjs"));
const generator = await import(url("generator.mjs"));
const { texts = [], codes = [] } = JSON.parse(await readFile(input, "utf8"));

const model = await sentiment.load(dir);
const result = { sentiment: texts.map((t) => {
  const out = model.predict(t);
  return { prob_pos: out.prob_pos, tokens: out.tokens, weights: out.weights };
}), generators: {} };
const spec = await generator.load(dir);
for (const info of spec.models) {
  const G = await generator.load(dir, info.name);
  result.generators[info.name] = codes.map((z) => Array.from(G.generate(Float32Array.from(z))));
}
await writeFile(output, JSON.stringify(result));

// Stands in for GPU work: "trains" a tiny model for a few steps on the CPU, prints a loss
// curve, and writes metrics.json (the final numbers) and train-log.jsonl (one line per step)
// into --out (default: out/ next to this file). No GPU or network needed.
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { steps: { type: "string", default: "20" }, out: { type: "string", default: "out" } },
});
const steps = Number(values.steps);
let seed = 42;
const random = () => {
  seed = (seed * 1664525 + 1013904223) % 2 ** 32;
  return seed / 2 ** 32;
};

// A tiny linear regression fitted by gradient descent: y = 3x + 1 with noise.
const xs = Array.from({ length: 256 }, () => random() * 2 - 1);
const ys = xs.map((x) => 3 * x + 1 + (random() - 0.5) * 0.1);
let w = 0;
let b = 0;
let loss = Number.NaN;
const log = [];
const started = performance.now();
for (let step = 1; step <= steps; step++) {
  let gw = 0;
  let gb = 0;
  loss = 0;
  for (let i = 0; i < xs.length; i++) {
    const err = w * xs[i] + b - ys[i];
    loss += err * err;
    gw += 2 * err * xs[i];
    gb += 2 * err;
  }
  loss /= xs.length;
  const gradNorm = Math.hypot(gw, gb) / xs.length;
  log.push(JSON.stringify({ step, loss, grad_norm: gradNorm }));
  w -= (0.5 * gw) / xs.length;
  b -= (0.5 * gb) / xs.length;
  if (step % 5 === 0 || step === steps) console.log(`step ${step}/${steps}  loss ${loss.toFixed(5)}`);
}
const out = new URL(`${values.out.replace(/\/?$/, "/")}`, new URL("./", import.meta.url));
mkdirSync(out, { recursive: true });
const metrics = { steps, loss, w, b, seconds: (performance.now() - started) / 1000 };
writeFileSync(new URL("metrics.json", out), `${JSON.stringify(metrics, null, 2)}\n`);
writeFileSync(new URL("train-log.jsonl", out), `${log.join("\n")}\n`);
console.log(`wrote ${values.out}/metrics.json and train-log.jsonl: w=${w.toFixed(3)} b=${b.toFixed(3)}`);

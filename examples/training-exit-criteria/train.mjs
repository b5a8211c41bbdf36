// Stands in for a training run: writes out/metrics.jsonl (one line per step: loss, val_loss)
// and out/exit_criteria.json (the run's final numbers). Deterministic; with --diverge the loss
// becomes NaN, as when a learning rate is too high.
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { steps: { type: "string", default: "200" }, diverge: { type: "boolean", default: false } },
});
const steps = Number(values.steps);
const lines = [];
let loss = 2.5;
let val = 2.6;
for (let step = 1; step <= steps; step++) {
  loss = values.diverge && step > steps / 2 ? Number.NaN : loss * 0.985 + 0.004;
  val = val * 0.985 + 0.005;
  // Python's json.dumps writes NaN as NaN; gpuci reads it the same way.
  lines.push(
    `{"step": ${step}, "loss": ${Number.isNaN(loss) ? "NaN" : loss.toFixed(5)}, "val_loss": ${val.toFixed(5)}}`,
  );
}
const exit = {
  final_loss: loss,
  final_val_loss: val,
  train_val_gap: Math.abs(val - loss),
  accuracy: 0.87,
  // The probe classifier separates the classes perfectly: on real data that is a warning sign.
  auroc: 1.0,
};
mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
writeFileSync(new URL("./out/metrics.jsonl", import.meta.url), `${lines.join("\n")}\n`);
writeFileSync(
  new URL("./out/exit_criteria.json", import.meta.url),
  `${JSON.stringify(exit, (_k, v) => (typeof v === "number" && Number.isNaN(v) ? "NaN" : v), 2).replace(/"NaN"/g, "NaN")}\n`,
);
console.log(`trained ${steps} steps: loss ${loss.toFixed(4)}, val ${val.toFixed(4)}`);

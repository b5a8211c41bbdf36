// Stands in for an LLM data-generation job: writes out/examples.jsonl, one generated example
// per line, with the fields the QC gates read. Deterministic (seeded), no GPU or network.
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { count: { type: "string", default: "5000" }, seed: { type: "string", default: "7" } },
});
let seed = Number(values.seed) >>> 0;
const random = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const lines = [];
for (let i = 0; i < Number(values.count); i++) {
  const runaway = random() < 0.02; // generation that never stopped
  const tokens = runaway ? 512 : Math.round(12 + random() * 40);
  lines.push(
    JSON.stringify({
      id: i,
      prompt: `task-${i % 50}`,
      tokens,
      runaway,
      hit_token_limit: runaway || random() < 0.03,
      delimiter_leak: false,
      critic_verdict: random() < 0.62 ? "accept" : "reject",
    }),
  );
}
mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
writeFileSync(new URL("./out/examples.jsonl", import.meta.url), `${lines.join("\n")}\n`);
console.log(`wrote ${lines.length} examples to out/examples.jsonl`);

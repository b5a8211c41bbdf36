// bench/startup: how much gpuci adds to Node's own start-up.
// Runs `node -e 0` and `gpuci --version` (the built CLI) 20 times each, interleaved so that
// machine noise hits both alike, and prints the medians and their difference.
// Target: gpuci adds at most 20 ms over bare node.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../packages/cli/dist/bin.js", import.meta.url));
if (!existsSync(bin)) {
  console.error("bench/startup: build first (npm run build)");
  process.exit(1);
}
const runs = Number(process.env.RUNS ?? 20);
const time = (args) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
// One warm-up of each so the file cache is not what we measure.
time(["-e", "0"]);
time([bin, "--version"]);
const node = [];
const gpuci = [];
for (let i = 0; i < runs; i++) {
  node.push(time(["-e", "0"]));
  gpuci.push(time([bin, "--version"]));
}
const mn = median(node);
const mg = median(gpuci);
const row = (name, ms) => `| ${name.padEnd(16)} | ${ms.toFixed(1).padStart(9)} |`;
console.log(`startup, median of ${runs} runs (node ${process.version})\n`);
console.log("| command          | median ms |");
console.log("|------------------|-----------|");
console.log(row("node -e 0", mn));
console.log(row("gpuci --version", mg));
console.log(row("difference", mg - mn));
console.log(`\ntarget: difference <= 20 ms: ${mg - mn <= 20 ? "met" : "NOT met"}`);
